import { ProtocolError } from '../src/errors.js';

/** The ProtocolError `fn` throws (anything else is rethrown; no throw fails the test). */
export function refusal(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ProtocolError) return e;
    throw e;
  }
  throw new Error('expected a ProtocolError');
}
