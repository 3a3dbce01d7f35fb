import type { BenchKey, BenchPath } from './benchOptions';
import type { BenchReport, ScenarioResult } from './report';

/**
 * An SVG of latency percentiles against offered load, one panel per deployment key: p50 (solid) and p99
 * (dashed) of each path, both axes logarithmic. Open-loop scenarios sit at their offered rate; closed-loop ones
 * (saturation, the floor one at a time) at the throughput they reached, hollow, since there the load offered
 * is what the path could take. Written by our own code so that the bench needs no plotting package.
 */
export function latencyPlotSvg(report: BenchReport): string {
  const keys = report.options.keys;
  const panelW = 460;
  const panelH = 320;
  const margin = { left: 60, right: 16, top: 40, bottom: 48 };
  const width = keys.length * (panelW + margin.left + margin.right);
  const height = panelH + margin.top + margin.bottom + 50;
  const all = report.scenarios.filter((s) => s.result.ok > 0);
  const xs = all.map(offered).filter((x) => x > 0);
  const ys = all.flatMap((s) => [s.result.latencyMs.p50, s.result.latencyMs.p99]).filter((y) => y > 0);
  const xRange = decades(Math.min(...xs, 10), Math.max(...xs, 100));
  const yRange = decades(Math.min(...ys, 1), Math.max(...ys, 100));
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
  ];
  keys.forEach((key, i) => {
    const x0 = i * (panelW + margin.left + margin.right) + margin.left;
    out.push(...panel(report, key, x0, margin.top, panelW, panelH, xRange, yRange));
  });
  // Legend under the panels.
  const ly = margin.top + panelH + margin.bottom + 24;
  let lx = margin.left;
  for (const path of plotted(report)) {
    out.push(
      `<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${colours[path]}" stroke-width="2"/>`,
      `<text x="${lx + 30}" y="${ly + 4}">${path}</text>`,
    );
    lx += 130;
  }
  out.push(
    `<text x="${lx}" y="${ly + 4}">p50: solid line, dot; p99: dashed line, square; hollow: closed loop at its throughput</text>`,
    '</svg>',
  );
  return out.join('\n') + '\n';
}

const colours: Record<string, string> = { orchestrated: '#d62728', direct: '#1f77b4', floor: '#2ca02c' };

/** The load a scenario put on its path: the rate it offered, or the throughput of a closed loop. */
const offered = (s: ScenarioResult) => (s.load.kind === 'rate' ? s.load.rate : s.result.throughput);

function decades(min: number, max: number): [number, number] {
  return [Math.floor(Math.log10(min)), Math.ceil(Math.log10(max))];
}

function panel(
  report: BenchReport,
  key: BenchKey,
  x0: number,
  y0: number,
  w: number,
  h: number,
  [xLo, xHi]: [number, number],
  [yLo, yHi]: [number, number],
): string[] {
  const sx = (v: number) => x0 + ((Math.log10(v) - xLo) / (xHi - xLo)) * w;
  const sy = (v: number) => y0 + h - ((Math.log10(v) - yLo) / (yHi - yLo)) * h;
  const out: string[] = [
    `<text x="${x0 + w / 2}" y="${y0 - 16}" text-anchor="middle" font-weight="bold">${key} key (dk_demo_${key}): latency of 2xx answers</text>`,
    `<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="none" stroke="#999"/>`,
    `<text x="${x0 + w / 2}" y="${y0 + h + 36}" text-anchor="middle">offered load, requests/s</text>`,
    `<text x="${x0 - 44}" y="${y0 + h / 2}" text-anchor="middle" transform="rotate(-90 ${x0 - 44} ${y0 + h / 2})">ms</text>`,
  ];
  for (let d = xLo; d <= xHi; d++) {
    for (const m of d < xHi ? [1, 2, 5] : [1]) {
      const x = sx(m * 10 ** d);
      out.push(`<line x1="${x}" y1="${y0}" x2="${x}" y2="${y0 + h}" stroke="#eee"/>`);
      out.push(`<text x="${x}" y="${y0 + h + 16}" text-anchor="middle">${m * 10 ** d}</text>`);
    }
  }
  for (let d = yLo; d <= yHi; d++) {
    const y = sy(10 ** d);
    out.push(`<line x1="${x0}" y1="${y}" x2="${x0 + w}" y2="${y}" stroke="#ddd"/>`);
    out.push(`<text x="${x0 - 6}" y="${y + 4}" text-anchor="end">${10 ** d}</text>`);
  }
  for (const path of plotted(report)) {
    const scenarios = report.scenarios
      .filter((s) => s.path === path && (s.key === key || s.key === null) && s.result.ok > 0)
      .sort((a, b) => offered(a) - offered(b));
    for (const [pct, dash] of [
      ['p50', ''],
      ['p99', ' stroke-dasharray="6 4"'],
    ] as const) {
      const rates = scenarios.filter((s) => s.load.kind === 'rate');
      if (rates.length > 1) {
        const points = rates.map((s) => `${sx(offered(s))},${sy(s.result.latencyMs[pct])}`).join(' ');
        out.push(
          `<polyline points="${points}" fill="none" stroke="${colours[path]}" stroke-width="2"${dash}/>`,
        );
      }
      for (const s of scenarios) {
        const open = s.load.kind === 'rate';
        const x = sx(offered(s));
        const y = sy(s.result.latencyMs[pct]);
        const style = `fill="${open ? colours[path] : 'white'}" stroke="${colours[path]}" stroke-width="1.5"`;
        const title = `<title>${path} ${s.key ?? ''} ${s.load.kind === 'rate' ? `${s.load.rate}/s` : `c=${s.load.connections}`} ${pct} ${s.result.latencyMs[pct]} ms</title>`;
        out.push(
          pct === 'p50'
            ? `<circle cx="${x}" cy="${y}" r="4" ${style}>${title}</circle>`
            : `<rect x="${x - 3.5}" y="${y - 3.5}" width="7" height="7" ${style}>${title}</rect>`,
        );
      }
    }
  }
  return out;
}

/** The paths the plot draws: the ladder's rungs have their own table (bench/report.ts), not a line. */
const plotted = (report: BenchReport) =>
  report.options.paths.filter((p): p is Exclude<BenchPath, 'ladder'> => p !== 'ladder');
