/**
 * Limits that tests may lower, so that they need not wait them out in real time. For tests only:
 * these are not settings (not in the settings table, not in .env.example), and a value that is
 * not a whole number of ms leaves the limit as it is.
 *   CAMQTT_TEST_STALL_LIMIT_MS     a viewer socket or MJPEG client taking nothing is cut off after this (10 s)
 *   CAMQTT_TEST_ANSWER_TIMEOUT_MS  a control POST waits this long for the camera's own answer (2 s)
 *   CAMQTT_TEST_STALE_RESET_MS     a camera whose frames stay late this long is taken as the new normal (3 s)
 */

export interface TestLimits {
  stallLimitMs?: number;
  answerTimeoutMs?: number;
  staleResetMs?: number;
}

export function testLimits(env: NodeJS.ProcessEnv = process.env): TestLimits {
  const ms = (name: string): number | undefined => {
    const value = env[name];
    return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
  };
  return {
    stallLimitMs: ms('CAMQTT_TEST_STALL_LIMIT_MS'),
    answerTimeoutMs: ms('CAMQTT_TEST_ANSWER_TIMEOUT_MS'),
    staleResetMs: ms('CAMQTT_TEST_STALE_RESET_MS'),
  };
}
