/** The JetStream API error codes this project acts on, by name (nats-server's errors.json). */
export const JetStreamError = {
  STREAM_NOT_FOUND: 10059,
  CONSUMER_NOT_FOUND: 10014,
  STREAM_NAME_IN_USE: 10058,
  NO_MESSAGE_FOUND: 10037,
  /** More replicas than JetStream can place: not clustered, insufficient resources, no suitable peers. */
  NOT_CLUSTERED: 10074,
  INSUFFICIENT_RESOURCES: 10023,
  NO_SUITABLE_PEERS: 10005,
} as const;

/** The JetStream API error code of an error, if it carries one. */
export function jetStreamErrorCode(err: unknown): number | undefined {
  return (err as { api_error?: { err_code?: number } })?.api_error?.err_code;
}

/** A stream or consumer that does not exist (also the client's own 404). */
export function isNotFound(err: unknown): boolean {
  const code = jetStreamErrorCode(err);
  return code === JetStreamError.STREAM_NOT_FOUND || code === JetStreamError.CONSUMER_NOT_FOUND || (err as { code?: string })?.code === '404';
}

/** A stream message that is not there (removed by its limits, or never stored). */
export function isNoMessage(err: unknown): boolean {
  return jetStreamErrorCode(err) === JetStreamError.NO_MESSAGE_FOUND || isNotFound(err) || /no message found/i.test(String((err as Error)?.message));
}
