/**
 * The convergence-time plot of a chaos run (docs/RELIABILITY.md §Chaos): one point per heal, the
 * seconds from "network whole and every node listening" to "every node holds the same items",
 * with the bound (two anti-entropy intervals) as a line. Plain SVG, no dependency.
 */
export interface ConvergencePoint {
  heal: number;
  seconds: number;
  /** False when the nodes had not converged when the checker gave up. */
  converged: boolean;
}

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");

/**
 * @example writeFileSync("convergence.svg", convergenceSvg(points, 10, "seed 7, 7 nodes"))
 */
export function convergenceSvg(points: readonly ConvergencePoint[], boundS: number, title: string): string {
  const w = 640;
  const h = 320;
  const left = 50;
  const bottom = 40;
  const top = 30;
  const right = 20;
  const maxY = Math.max(boundS * 1.5, ...points.map((p) => p.seconds)) * 1.1;
  const maxX = Math.max(1, points.length);
  const x = (i: number): number => left + ((i + 0.5) / maxX) * (w - left - right);
  const y = (s: number): number => h - bottom - (s / maxY) * (h - bottom - top);
  const ticks = Array.from({ length: 5 }, (_, k) => (maxY * k) / 4);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="11">`,
    `<rect width="${w}" height="${h}" fill="#fff"/>`,
    `<text x="${w / 2}" y="18" text-anchor="middle" font-size="13">${esc(title)}</text>`,
    `<line x1="${left}" y1="${h - bottom}" x2="${w - right}" y2="${h - bottom}" stroke="#333"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${h - bottom}" stroke="#333"/>`,
    ...ticks.map((t) => `<text x="${left - 6}" y="${y(t) + 4}" text-anchor="end">${t.toFixed(1)}</text><line x1="${left}" y1="${y(t)}" x2="${w - right}" y2="${y(t)}" stroke="#eee"/>`),
    `<line x1="${left}" y1="${y(boundS)}" x2="${w - right}" y2="${y(boundS)}" stroke="#c33" stroke-dasharray="5,4"/>`,
    `<text x="${w - right}" y="${y(boundS) - 4}" text-anchor="end" fill="#c33">bound: 2 anti-entropy intervals (${boundS} s)</text>`,
    `<text x="${w / 2}" y="${h - 8}" text-anchor="middle">heal (in order)</text>`,
    `<text x="14" y="${h / 2}" text-anchor="middle" transform="rotate(-90 14 ${h / 2})">seconds to converge</text>`,
    ...points.map((p, i) => `<circle cx="${x(i)}" cy="${y(p.seconds)}" r="4" fill="${p.converged ? "#2a6" : "#c33"}"><title>heal ${p.heal}: ${p.seconds.toFixed(2)} s${p.converged ? "" : " (not converged)"}</title></circle>`),
    `</svg>`,
  ];
  return `${parts.join("\n")}\n`;
}
