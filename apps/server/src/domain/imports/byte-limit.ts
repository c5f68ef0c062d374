import { AppError } from '../../errors.js';

/** Passes a byte stream through, failing with `payload_too_large` past `maxBytes`. */
export async function* limitBytes(
  source: AsyncIterable<Buffer | string>,
  maxBytes: number,
): AsyncGenerator<Buffer> {
  let seen = 0;
  for await (const piece of source) {
    const chunk = typeof piece === 'string' ? Buffer.from(piece) : piece;
    seen += chunk.length;
    if (seen > maxBytes) {
      // Hand on what fits: the complete records before the limit are still imported.
      const fits = chunk.length - (seen - maxBytes);
      if (fits > 0) yield chunk.subarray(0, fits);
      throw new AppError(
        'payload_too_large',
        `The upload is larger than the limit of ${maxBytes} bytes (IMPORT_MAX_BYTES).`,
        {
          details: { limit: maxBytes },
        },
      );
    }
    yield chunk;
  }
}
