/**
 * How the sidebar writes durations, times, sizes and ids (pure functions).
 */

/**
 * A duration in milliseconds, to two significant figures: `0.4 ms`, `12 ms`,
 * `1.3 s`, `2 min 5 s`, `1 h 4 min`.
 */
export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) {
    return '';
  }
  if (ms < 1) {
    return `${ms.toFixed(1)} ms`;
  }
  if (ms < 1000) {
    return `${Math.round(ms)} ms`;
  }
  const seconds = ms / 1000;
  if (seconds < 60) {
    return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  }
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) {
    return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
  }
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${minutes - hours * 60} min`;
}

/**
 * How long ago `iso` was, in words: `just now`, `5 min ago`, `3 h ago`,
 * then the date.
 */
export function formatAgo(iso: string | null, now: Date = new Date()): string {
  if (!iso) {
    return '';
  }
  const then = new Date(iso);
  const seconds = (now.getTime() - then.getTime()) / 1000;
  if (!Number.isFinite(seconds)) {
    return iso;
  }
  if (seconds < 45) {
    return 'just now';
  }
  if (seconds < 3600) {
    return `${Math.max(1, Math.round(seconds / 60))} min ago`;
  }
  if (seconds < 86400) {
    return `${Math.round(seconds / 3600)} h ago`;
  }
  return then.toLocaleDateString(undefined, {
    year: then.getFullYear() === now.getFullYear() ? undefined : 'numeric',
    month: 'short',
    day: 'numeric'
  });
}

/**
 * A local date and time, for tooltips.
 */
export function formatTime(iso: string | null): string {
  if (!iso) {
    return '';
  }
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/**
 * A size in bytes: `812 B`, `4.2 KB`, `1.1 GB`.
 */
export function formatBytes(bytes: number | null): string {
  if (bytes === null || !Number.isFinite(bytes)) {
    return '';
  }
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0
    ? `${value} ${units[unit]}`
    : `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/**
 * The first characters of an id or hash, enough to tell them apart on screen.
 */
export function shortId(id: string | null, length = 8): string {
  if (!id) {
    return '';
  }
  const bare = id.replace(/^(xxh3:|id:|sha256:)/, '');
  return bare.length > length ? bare.slice(0, length) : bare;
}

/**
 * The name of a file from its path.
 */
export function baseName(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1] || path;
}

/**
 * A file name for a downloaded model card: `model-card-churn-1.0.0.html`.
 */
export function cardFileName(model: string, version: string | null): string {
  const safe = (text: string) => text.replace(/[^A-Za-z0-9._-]+/g, '-');
  return `model-card-${safe(model)}${version ? '-' + safe(version) : ''}.html`;
}
