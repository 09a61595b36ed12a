// CalledIt — building DOM nodes, and the page's icons.

/** The first element matching `selector` under `root`. */
export const $ = (selector, root = document) => root.querySelector(selector);

/** Build an element: h("li", {class: "x", dataset: {id: 1}}, "text", child). */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value == null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "html") node.innerHTML = value; // only ever given static icon markup
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  node.append(...children.flat().filter((c) => c != null && c !== false));
  return node;
}

export const ICONS = {
  clock: '<svg viewBox="0 0 20 20"><circle cx="10" cy="10" r="6.75"/><path d="M10 6.2V10l2.6 1.7"/></svg>',
  calendar: '<svg viewBox="0 0 20 20"><rect x="3.5" y="4.5" width="13" height="12" rx="2.5"/><path d="M3.5 8.5h13M7 3v3M13 3v3"/></svg>',
  tool: '<svg viewBox="0 0 20 20"><path d="M12.3 4.2a3.6 3.6 0 0 0-4.7 4.6L3.8 12.6a1.5 1.5 0 0 0 2.1 2.1l3.8-3.8a3.6 3.6 0 0 0 4.6-4.7l-2.2 2.2-1.9-.3-.3-1.9z"/></svg>',
  bookmark: '<svg viewBox="0 0 20 20"><path d="M5 3.5h10v13l-5-3.5-5 3.5z"/></svg>',
  check: '<svg viewBox="0 0 20 20"><path d="M4.5 10.5 8 14l7.5-8"/></svg>',
  inbox: '<svg viewBox="0 0 20 20"><path d="M3.5 11.5 5.5 4.5h9l2 7v4h-13z M3.5 11.5h4l1 2h3l1-2h4"/></svg>',
  alert: '<svg viewBox="0 0 20 20"><circle cx="10" cy="10" r="7"/><path d="M10 6.3v4.6M10 13.6v.2"/></svg>',
};

/** How each tool shows as a chip, and what the progress line says while it runs. */
export const TOOLS = {
  current_time: { label: "Today’s date", icon: "clock", progress: "Checking today’s date…" },
  parse_relative_date: { label: "Deadline", icon: "calendar", progress: "Working out the deadline…" },
};

export const STATUS_LABELS = {
  pending: "Pending",
  verified_true: "Called it",
  verified_false: "Missed",
  inconclusive: "Inconclusive",
  draft: "Drafting",
};
