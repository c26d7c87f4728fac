/**
 * The one place credentials are taken out of text before it is logged, published in a retained
 * status or served by the relay: camera source URLs (`rtsp://admin:secret@cam/...`), broker URLs
 * (`mqtts://user:pw@host`) and error messages that quote them.
 *
 * No Node APIs here: the page may use it too.
 */

/** Query parameters whose value is a credential (IP cameras take `?user=..&password=..`, `?pwd=`, `?token=`). */
const SECRET_PARAMETERS =
  'user|username|usr|login|password|passwd|pass|pwd|token|access_token|auth|authorization|key|apikey|api_key|secret|sig|signature|credentials';

/**
 * `scheme://userinfo@`: the user information runs to the LAST `@` before the path, query or
 * fragment starts, as FFmpeg and the URL standard read it, so a password holding an `@`
 * (`admin:p@ss@cam`) goes whole rather than leaving `ss@cam` behind. The greedy class backtracks
 * to that last `@`.
 */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#]*@/gi;
const QUERY_SECRET = new RegExp(`([?&;](?:${SECRET_PARAMETERS}))=[^&;#\\s]*`, 'gi');

export const REDACTED = '***';

/** `text` with the credentials of every URL in it replaced by `***`; anything else unchanged. */
export function redactCredentials(text: string): string {
  return text.replace(USERINFO, `$1${REDACTED}@`).replace(QUERY_SECRET, `$1=${REDACTED}`);
}
