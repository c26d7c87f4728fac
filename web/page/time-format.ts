/**
 * Times on the recordings panel: shown in the viewer's local time, 24-hour, as a person reads a
 * clock; the API takes ms since the epoch.
 */
const WITH_SECONDS = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
const WITHOUT_SECONDS = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hour12: false });

export function formatClock(ms: number, seconds = true): string {
  return (seconds ? WITH_SECONDS : WITHOUT_SECONDS).format(ms);
}

/** `2026-11-20T11:00:05`, local time, as an <input type="datetime-local" step="1"> holds it. */
export function toLocalInput(ms: number): string {
  const date = new Date(ms);
  const pad = (value: number): string => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** The reverse of toLocalInput; NaN for an empty or partial value. */
export function fromLocalInput(value: string): number {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value) ? new Date(value).getTime() : Number.NaN;
}

/** `42.0 MB`, `12.3 GB`: sizes as the recorder's status gives them, in bytes. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}
