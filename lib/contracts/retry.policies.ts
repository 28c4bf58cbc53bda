/**
 * Activity retries, one policy for every workflow: a flaky store or a restarted worker gets six
 * tries over about a minute and a half; errors an activity marks non-retryable end at once.
 */
export const ActivityRetry = {
  initialInterval: "2s",
  backoffCoefficient: 2,
  maximumInterval: "1m",
  maximumAttempts: 6,
} as const;
