/** The version `dsef --version` prints: package.json's, and the Bun runtime inside. */
import pkg from "../../package.json" with { type: "json" };

export const version = `dsef ${pkg.version} (bun ${Bun.version})`;
