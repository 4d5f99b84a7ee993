import { randomBytes } from 'node:crypto';
import type { Logger } from '../../lib/logger';

/**
 * Where messages of test keys and sandbox numbers go instead of Meta: nowhere. It validates
 * nothing, records the body in the log at debug level and answers like Meta with a made-up
 * wamid, so the rest of the pipeline (statuses, events) behaves as in production. The Cloud API
 * simulator of the zero-config issue will replace it.
 */
export function createSandboxSink(logger: Logger) {
  return {
    async sendMessage(_token: string, phoneNumberId: string, body: Record<string, unknown>) {
      const wamid = `wamid.SANDBOX${randomBytes(12).toString('hex')}`;
      logger.debug({ phone_number_id: phoneNumberId, type: body.type, wamid }, 'sandbox send (not sent to Meta)');
      return { wamid };
    },
  };
}
