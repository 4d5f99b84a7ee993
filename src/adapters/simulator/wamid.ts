import { randomBytes, randomInt } from 'node:crypto';

/**
 * Ids shaped like Meta's. A wamid is "wamid." + base64 of a small binary record that holds the
 * customer's number and a hex message id (e.g. wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRB...): inbound
 * ids carry 20 hex characters, outbound ones 18, as Meta's do. Media ids are 15-16 digit numbers.
 */
export function newWamid(waId: string, direction: 'in' | 'out'): string {
  const digits = Buffer.from(waId.replace(/\D/g, '').slice(0, 32), 'ascii');
  const hex = Buffer.from(randomBytes(direction === 'in' ? 10 : 9).toString('hex').toUpperCase(), 'ascii');
  const record = Buffer.concat([
    Buffer.from([0x1c, 0x18, digits.length]),
    digits,
    Buffer.from([0x15, 0x02, 0x00, direction === 'in' ? 0x12 : 0x11, 0x18, hex.length]),
    hex,
    Buffer.from([0x00]),
  ]);
  return `wamid.${record.toString('base64')}`;
}

export function newMediaId(): string {
  return `${randomInt(1, 10)}${Array.from({ length: 15 }, () => randomInt(0, 10)).join('')}`;
}
