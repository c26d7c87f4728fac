/**
 * MQTT topic-filter algebra the access rules need: does a filter match a topic, and does one
 * filter cover another (every topic the second matches, the first matches too). Both follow
 * MQTT 3.1.1 section 4.7, including [MQTT-4.7.2-1]: a filter starting with a wildcard never
 * matches a topic starting with `$`, so `#` does not reach `$SYS/...`; only an explicit
 * `$SYS/...` rule does.
 */

function levels(value: string): string[] {
  return value.split('/');
}

function isWildcard(level: string | undefined): boolean {
  return level === '+' || level === '#';
}

function startsWithDollar(level: string | undefined): boolean {
  return level !== undefined && level.startsWith('$');
}

/** True if `filter` matches the concrete `topic`. */
export function filterMatches(filter: string, topic: string): boolean {
  const f = levels(filter);
  const t = levels(topic);
  if (startsWithDollar(t[0]) && isWildcard(f[0])) return false;
  for (let i = 0; i < f.length; i++) {
    const level = f[i]!;
    // `a/#` matches `a` itself as well as everything below it.
    if (level === '#') return true;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}

/**
 * True if every topic `inner` can match is matched by `outer`: rule `a/+/frame` covers the
 * subscription `a/cam1/frame` and itself, but not `a/#`.
 */
export function filterCovers(outer: string, inner: string): boolean {
  const o = levels(outer);
  const n = levels(inner);
  if (startsWithDollar(n[0]) && isWildcard(o[0])) return false;
  for (let i = 0; i < o.length; i++) {
    const rule = o[i]!;
    if (rule === '#') return true;
    const sub = n[i];
    if (sub === undefined) return false;
    // `inner` ends in `#` here, which reaches deeper levels than a finite `outer` does.
    if (sub === '#') return false;
    if (rule === '+') continue;
    if (sub === '+' || sub !== rule) return false;
  }
  return o.length === n.length;
}
