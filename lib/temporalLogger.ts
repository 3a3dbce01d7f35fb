import type { Logger as TemporalLogger, LogLevel, LogMetadata } from '@temporalio/common';
import type { Logger } from './logger';

const method: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * Sends the SDK's logs (worker, workflow `log`, activity `log`) through pino, so they carry the same
 * structure and the same redaction as every other log line.
 */
export function temporalLogger(log: Logger): TemporalLogger {
  const emit = (level: LogLevel, message: string, meta?: LogMetadata) =>
    log[method[level]](meta ?? {}, message);
  return {
    log: emit,
    trace: (m, meta) => emit('TRACE', m, meta),
    debug: (m, meta) => emit('DEBUG', m, meta),
    info: (m, meta) => emit('INFO', m, meta),
    warn: (m, meta) => emit('WARN', m, meta),
    error: (m, meta) => emit('ERROR', m, meta),
  };
}
