import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { AppError } from '../../errors.js';
import { formatResult, isEnvelope, replayEnvelope } from '../../connectors/replay/replay.js';

/**
 * `socialpulse connectors replay FILE...`: feeds recorded exchanges (the fixtures' envelope
 * format) through the real connector and HTTP layer code and prints, per file, one JSON line per
 * parsed post (common model), snapshot, account or comment, or the typed error. No network.
 */
export function registerConnectorsCommand(program: Command): void {
  const connectors = program
    .command('connectors')
    .description('Platform connectors: offline tools');
  connectors
    .command('replay')
    .description(
      'Replay recorded platform exchanges through the connectors; print posts (JSON lines) or typed errors',
    )
    .argument(
      '<files...>',
      'envelope files: {"interactions":[{"request":{method,url,body?},"response":{status,headers,body}}]}',
    )
    .action(async (files: string[]) => {
      let failed = 0;
      for (const file of files) {
        let json: unknown;
        try {
          json = JSON.parse(await readFile(file, 'utf8')) as unknown;
        } catch (error) {
          failed += 1;
          process.stdout.write(
            `${JSON.stringify({ file, error: { kind: 'unreadable', message: (error as Error).message } })}\n`,
          );
          continue;
        }
        if (!isEnvelope(json)) {
          failed += 1;
          process.stdout.write(
            `${JSON.stringify({ file, error: { kind: 'not_an_envelope', message: 'expected {"interactions":[{"request":…,"response":…}]}' } })}\n`,
          );
          continue;
        }
        for (const result of await replayEnvelope(json)) {
          for (const line of formatResult(result))
            process.stdout.write(`${JSON.stringify({ file, ...(JSON.parse(line) as object) })}\n`);
        }
      }
      if (failed > 0)
        throw new AppError(
          'validation_failed',
          `${failed} of ${files.length} file(s) could not be replayed`,
        );
    });
}
