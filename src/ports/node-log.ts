/** What the inner layers log through: structured fields and a message (a pino logger fits). */
export interface NodeLog {
  debug(fields: object, msg: string): void;
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

/** Says nothing (the simulator runs thousands of nodes). */
export const silentLog: NodeLog = { debug() {}, info() {}, warn() {}, error() {} };
