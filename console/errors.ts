/** A request the console's server refuses: the HTTP status, a stable code, and a message naming the field and value. */
export class RequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "RequestError";
  }
}

/** The console cannot start: wrong flags, no deployment, no node. The message says what to do. */
export class ConsoleStartError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ConsoleStartError";
  }
}
