# Sourced by .ci/run: a reachable Docker engine, the project image, and cleanup on exit.
# Starts dockerd in the background when none answers (and stops it again at the end), builds
# the offline stand-in for the base image if it cannot be pulled, then the image under test.
# If anything here fails the container tests still run and fail visibly (or skip: no engine).

dsef_started_dockerd=""
dsef_docker_cleanup() {
  docker info >/dev/null 2>&1 || return 0
  # Containers and networks the suite made (testcontainers and compose labels), none else.
  local ids
  ids=$( { docker ps -aq --filter label=dsef.test=1; docker ps -aq --filter label=org.testcontainers=true;
           docker ps -a --format '{{.ID}} {{.Label "com.docker.compose.project"}}' | awk '$2 ~ /^dsefcompose/ {print $1}'; } | sort -u)
  [ -n "$ids" ] && docker rm -f -v $ids >/dev/null 2>&1
  local nets
  nets=$( { docker network ls -q --filter label=dsef.test=1; docker network ls --format '{{.ID}} {{.Name}}' | awk '$2 ~ /^dsefcompose/ {print $1}'; } | sort -u)
  [ -n "$nets" ] && docker network rm $nets >/dev/null 2>&1
  if [ -n "$dsef_started_dockerd" ]; then
    kill "$dsef_started_dockerd" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$dsef_started_dockerd" 2>/dev/null || break; sleep 0.2; done
  fi
  return 0
}
trap dsef_docker_cleanup EXIT

if ! docker info >/dev/null 2>&1 && command -v dockerd >/dev/null; then
  as_root sh -c 'dockerd >/tmp/dsef-dockerd.log 2>&1 & echo $! >/tmp/dsef-dockerd.pid'
  dsef_started_dockerd=$(cat /tmp/dsef-dockerd.pid 2>/dev/null)
  for _ in $(seq 1 100); do docker info >/dev/null 2>&1 && break; sleep 0.2; done
fi
if docker info >/dev/null 2>&1; then
  echo "docker engine $(docker version --format '{{.Server.Version}}'), compose: $( (docker compose version --short 2>/dev/null || docker-compose version --short 2>/dev/null) | head -1)"
  export TESTCONTAINERS_RYUK_DISABLED=true TESTCONTAINERS_HOST_OVERRIDE=localhost
  if tag=$(bash .ci/build-image.sh dsef:test); then
    export DSEF_TEST_IMAGE=$tag
    echo "image $tag: $(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}')"
  else
    echo "image build failed; the container tests will try again and report it"
  fi
else
  echo "no Docker engine: container tests will be skipped"
  tail -5 /tmp/dsef-dockerd.log 2>/dev/null
fi
