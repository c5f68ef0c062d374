/**
 * The signals that stop a SocialPulse process cleanly. SIGHUP only with a terminal attached (its
 * closing hangs up on us, and the embedded cluster, in a session of its own, would outlive
 * us): under nohup, which ignores SIGHUP, a handler of ours would undo that.
 */
export function stopSignals(): NodeJS.Signals[] {
  const terminal = Boolean(process.stdin.isTTY || process.stdout.isTTY || process.stderr.isTTY);
  return terminal ? ['SIGINT', 'SIGTERM', 'SIGHUP'] : ['SIGINT', 'SIGTERM'];
}
