/** A mistake on a command line or in an environment variable: printed as one line, exit code 2. */
export class UsageError extends Error {}
