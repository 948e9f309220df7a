import { describe, expect, it } from 'vitest';
import { InconsistentStateError } from '../domain/index.js';
import { LineKeptChangingError } from '../store/line-writes.js';
import { describeError, isTerminal, TerminalError } from './errors.js';

describe('errors are told apart by type', () => {
  it('terminal: a TerminalError and the domain\'s InconsistentStateError; transient: anything else, a line that kept changing included', () => {
    expect(isTerminal(new TerminalError('corrupt job', 'UNKNOWN_COMMAND'))).toBe(true);
    expect(isTerminal(new InconsistentStateError("product 'X' is not in the catalogue"))).toBe(true);
    expect(isTerminal(new LineKeptChangingError('written by others'))).toBe(false);
    expect(isTerminal(new Error('connect ECONNREFUSED'))).toBe(false);
    // A code that merely looks terminal does not make an error terminal.
    expect(isTerminal(Object.assign(new Error('x'), { code: 'INCONSISTENT_STATE' }))).toBe(false);
    expect(describeError(new TerminalError('corrupt job', 'UNKNOWN_COMMAND'))).toBe('TerminalError: corrupt job');
  });
});
