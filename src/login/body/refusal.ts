/** Why a login body is refused before anything is counted: a 4xx with a message the client can act on. */
export class BodyRefusal extends Error {
  constructor(
    readonly status: 400 | 413 | 415,
    message: string,
  ) {
    super(message);
    this.name = "BodyRefusal";
  }
}

/** A 400 for a body that has no single meaning. */
export const malformed = (message: string): BodyRefusal => new BodyRefusal(400, message);

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Decodes UTF-8 or refuses: bytes another reader could decode differently are not guessed at. */
export function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw malformed(`${what} is not valid UTF-8`);
  }
}

/** A text field of a form body, as read. */
export interface TextField {
  readonly name: string;
  readonly value: string;
}
