/**
 * Readers for the labelled sentiment sets in the shared data folder (never copied into the
 * repository: SemEval tweets are internal, see ../shared/data/README.md).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SentimentClass } from '../models/sentiment-model.js';

export interface LabelledText {
  id: string;
  text: string;
  label: SentimentClass;
  /** Continuous human rating where the set has one (VADER tweets: mean of ≥ 20 ratings, -4..4). */
  rating?: number;
  source: string;
}

export const SEMEVAL_FILES = [
  'twitter-2013train-A',
  'twitter-2013dev-A',
  'twitter-2013test-A',
  'twitter-2014test-A',
  'twitter-2014sarcasm-A',
  'twitter-2015train-A',
  'twitter-2015test-A',
  'twitter-2016train-A',
  'twitter-2016dev-A',
  'twitter-2016devtest-A',
  'twitter-2016test-A',
] as const;
export type SemevalFile = (typeof SEMEVAL_FILES)[number];

/** Undoes the files' storage artefacts: CSV-style quoting and JSON escapes (see PROVENANCE.md). */
export function cleanSemevalText(raw: string): string {
  let text = raw;
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) {
    text = text.slice(1, -1).replace(/""/g, '"');
  }
  if (text.includes('\\')) {
    text = text
      .replace(/\\u([0-9a-fA-F]{4})/g, (_m, hex: string) =>
        String.fromCharCode(Number.parseInt(hex, 16)),
      )
      .replace(/\\"/g, '"')
      .replace(/\\\\/g, '\\');
  }
  return text;
}

function isClass(label: string): label is SentimentClass {
  return label === 'negative' || label === 'neutral' || label === 'positive';
}

export function readSemeval(dataDir: string, file: SemevalFile): LabelledText[] {
  const path = join(dataDir, 'sentiment', 'semeval-2013-2016', `${file}.tsv`);
  const rows: LabelledText[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const [id, label, ...rest] = line.split('\t');
    if (id === undefined || label === undefined || !isClass(label)) continue;
    rows.push({
      id,
      label,
      text: cleanSemevalText(rest.join('\t').replace(/\t+$/, '')),
      source: file,
    });
  }
  return rows;
}

/** Human mean rating / 4 split at ±0.05, as the reference VADER figures in the data README. */
export function ratingToLabel(mean: number): SentimentClass {
  const x = mean / 4;
  if (x >= 0.05) return 'positive';
  if (x <= -0.05) return 'negative';
  return 'neutral';
}

/** VADER's tweets with their human mean ratings (tab-separated id, mean, text; CRLF). */
export function readVaderTweets(dataDir: string): LabelledText[] {
  const path = join(dataDir, 'sentiment', 'vader', 'tweets_GroundTruth.txt');
  const rows: LabelledText[] = [];
  for (const line of readFileSync(path, 'utf8').split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const [id, mean, ...rest] = line.split('\t');
    const rating = Number(mean);
    if (id === undefined || !Number.isFinite(rating)) continue;
    rows.push({
      id,
      text: rest.join('\t'),
      rating,
      label: ratingToLabel(rating),
      source: 'vader-tweets',
    });
  }
  return rows;
}

export interface VaderReferenceRow {
  id: string | number;
  text: string;
  neg: number;
  neu: number;
  pos: number;
  compound: number;
}

export function readVaderReference(dataDir: string, file: string): VaderReferenceRow[] {
  const path = join(dataDir, 'sentiment', 'vader', file);
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as VaderReferenceRow);
}
