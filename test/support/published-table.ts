import { readFileSync } from 'node:fs';

/** The parameter counts DeepSeek published with the model (configs/deepseek-v3.param-table.txt, copied from shared/configs). */
export function publishedTable(): { total: number; rows: Map<string, number> } {
  const text = readFileSync('configs/deepseek-v3.param-table.txt', 'utf8');
  const total = Number(/Total Parameters:\s*([\d,]+)/.exec(text)![1].replaceAll(',', ''));
  const rows = new Map<string, number>();
  for (const m of text.matchAll(/^\|\s*([\w.]+)\s*\|\s*(\d+)\s*\|$/gm)) rows.set(m[1], Number(m[2]));
  return { total, rows };
}
