// CalledIt — dates, countdowns and short summaries. Pure functions (no DOM), so they are
// tested on their own.

const locale = globalThis.navigator?.language || "en";
export const dayFormat = new Intl.DateTimeFormat(locale, { weekday: "short", day: "numeric", month: "short", year: "numeric" });
export const longDayFormat = new Intl.DateTimeFormat(locale, { weekday: "long", day: "numeric", month: "long", year: "numeric" });
export const relative = new Intl.RelativeTimeFormat(locale, { numeric: "auto" });
const count = new Intl.NumberFormat(locale);

/** A YYYY-MM-DD date as local midnight (not UTC, which would shift the day west of Greenwich). */
export function localDate(iso) {
  const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(iso ?? ""));
  if (!match) return null;
  return new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
}

/** Whole calendar days from `now`'s date to `date` (negative when past). */
export function calendarDaysUntil(date, now = new Date()) {
  const today = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  return Math.round((date - today) / 86400000);
}

/** The countdown to a verification date: a main line and a sub line. */
export function countdown(iso, now = new Date()) {
  const date = localDate(iso);
  if (!date) return { text: "—", sub: "" };
  const days = calendarDaysUntil(date, now);
  if (days < 0) return { text: "Due", sub: `since ${relative.format(days, "day")}` };
  if (days === 0) return { text: "Today", sub: "verification day" };
  const ms = date - now;
  const d = Math.floor(ms / 86400000);
  const hrs = Math.floor((ms % 86400000) / 3600000);
  const mins = Math.floor((ms % 3600000) / 60000);
  const text = d >= 1 ? `${d} ${d === 1 ? "day" : "days"}, ${hrs} h` : `${hrs} h ${mins} min`;
  return { text, sub: "to go" };
}

/** A one-line summary of a value (an object as `k: v · k: v`), at most `max` characters. */
export function summarize(value, max = 90) {
  let text;
  if (value && typeof value === "object" && !Array.isArray(value)) {
    text = Object.entries(value)
      .map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`)
      .join(" · ");
  } else {
    text = typeof value === "string" ? value : JSON.stringify(value ?? "");
  }
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}

/** The interesting part of a tool's output: a date if it has one, else a short summary. */
export function resultSummary(content) {
  let value = content;
  try { value = JSON.parse(content); } catch { /* plain text */ }
  if (value && typeof value === "object") {
    if (value.date) {
      const date = localDate(value.date);
      const stamp = value.iso ?? value.datetime;
      const time = value.time ?? (typeof stamp === "string" && stamp.length > 15 ? stamp.slice(11, 16) : "");
      return date ? dayFormat.format(date) + (time ? ` ${time}` : "") : String(value.date);
    }
    if (value.error) return String(value.error);
  }
  return summarize(value, 60);
}

/** The `date` a tool returned, if its output is JSON with one. */
export function toolDate(content) {
  try {
    const value = JSON.parse(content);
    return value && typeof value.date === "string" ? value.date : null;
  } catch {
    return null;
  }
}

/** "3 minutes ago", "yesterday"… */
export function ago(moment, now = Date.now()) {
  const minutes = Math.round((moment - now) / 60000);
  if (Math.abs(minutes) < 1) return "just now";
  if (Math.abs(minutes) < 60) return relative.format(minutes, "minute");
  if (Math.abs(minutes) < 1440) return relative.format(Math.round(minutes / 60), "hour");
  return relative.format(Math.round(minutes / 1440), "day");
}

/**
 * What the engine's prompt progress (`{stage: "prompt", processed, total, cached}`) means to a
 * reader: a sentence with real numbers and the fraction done (0–1), or null for anything else.
 */
export function promptProgress(value) {
  if (!value || value.stage !== "prompt") return null;
  const total = Number(value.total);
  const processed = Number(value.processed);
  if (!Number.isFinite(total) || total <= 0 || !Number.isFinite(processed)) return null;
  const done = Math.min(1, Math.max(0, processed / total));
  const cached = Number(value.cached) > 0 ? `, ${count.format(Number(value.cached))} cached` : "";
  return { fraction: done, detail: `${count.format(processed)} / ${count.format(total)} prompt tokens${cached}` };
}
