/** `npm run bench`: see bench/README.md. */
import { parseBenchOptions } from './benchOptions';
import { formatReport } from './report';
import { runBench } from './runBench';

async function main() {
  const options = parseBenchOptions(process.argv.slice(2));
  const { report, file, plot } = await runBench(options);
  console.log(formatReport(report));
  console.log(`\nJSON report: ${file}\nLatency plot: ${plot}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
