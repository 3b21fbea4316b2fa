import { readFile } from 'node:fs/promises';
import { errorMessage, IsobenchError } from '../core/index.js';

/** Reads a file, or standard input for `-`, as UTF-8 text; a missing file is an E_INPUT error naming it. */
export async function readTextInput(file: string): Promise<string> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
    return Buffer.concat(chunks).toString('utf8');
  }
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new IsobenchError('E_INPUT', `cannot read ${file}: ${errorMessage(err)}`, { hint: 'give a file path, or - to read standard input' });
  }
}
