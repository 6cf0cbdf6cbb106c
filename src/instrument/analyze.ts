import { SOURCE_CLOSE, SOURCE_OPEN } from '../breadcrumb.js';
import { KcrumbError } from '../errors.js';
import { shellCommand } from '../shell.js';
import { hasBreadcrumbs } from '../strip/strip.js';
import { parseC } from '../parse/c-parser.js';
import { findFunctions, type FunctionDef } from '../parse/functions.js';
import { indexLines, type LineIndex } from '../parse/lines.js';
import { maskKernelSyntax } from '../parse/mask.js';
import type { SyntaxNode } from '../parse/syntax-tree.js';
import type { SelectableFile } from '../select/select-functions.js';
import { findDeferredWork, findFileScopeRegistrations } from '../select/deferred-work.js';
import { declaredStructs, findStructHooks, type HookBinding } from '../select/hooks.js';

export interface SourceFile {
  /** Path as it should appear in the manifest and in messages. */
  path: string;
  /** The file's bytes decoded as latin1, so every byte round-trips unchanged. */
  text: string;
}

/** A file with its syntax tree (parsed from the masked text; offsets are the original's). */
export interface ParsedFile {
  path: string;
  text: string;
  root: SyntaxNode;
  lines: LineIndex;
  functions: FunctionDef[];
  hooks: HookBinding[];
}

/** What selection needs to know of a file, small enough to pass between threads. */
export interface FileAnalysis extends SelectableFile {
  functions: { name: string; line: number }[];
}

/**
 * Refuses a file that still holds breadcrumbs (instrumenting twice would nest markers), or that holds
 * kcrumb's marker text for another reason (a string, a comment): strip could not tell it from ours.
 */
export function assertNotInstrumented(file: SourceFile): void {
  if (hasBreadcrumbs(file.text)) {
    throw new KcrumbError('already-instrumented', `${file.path}: already holds kcrumb breadcrumbs`, `run: ${shellCommand('kcrumb strip', [file.path])}`);
  }
  const marker = [SOURCE_OPEN, SOURCE_CLOSE].map((m) => file.text.indexOf(m)).filter((at) => at >= 0);
  if (marker.length > 0) {
    const line = file.text.slice(0, Math.min(...marker)).split('\n').length;
    throw new KcrumbError('input', `${file.path}:${line}: holds kcrumb's marker text (${SOURCE_OPEN} or ${SOURCE_CLOSE}) that is no breadcrumb: kcrumb cannot instrument this file`);
  }
}

/** Masks and parses the file, and finds its functions and the function pointers of its struct initializers. */
export async function parseFile(file: SourceFile): Promise<ParsedFile> {
  const root = await parseC(maskKernelSyntax(file.text).masked);
  const lines = indexLines(file.text);
  const functions = findFunctions(root, file.text, lines);
  return { path: file.path, text: file.text, root, lines, functions, hooks: findStructHooks(root, file.text) };
}

/** The functions, struct hooks, call graph (also through struct fields) and deferred-work edges of a parsed file. */
export function analyzeParsed(parsed: ParsedFile): FileAnalysis {
  const calls: string[][] = [];
  const fieldCalls: string[][] = [];
  for (const fn of parsed.functions) {
    const names: string[] = [];
    const fields: string[] = [];
    for (const call of fn.body.descendantsOfType('call_expression')) {
      const callee = call.childForFieldName('function');
      if (callee?.type === 'identifier') names.push(callee.text);
      else if (callee?.type === 'field_expression') fields.push(callee.childForFieldName('field')?.text ?? '');
    }
    calls.push(names);
    fieldCalls.push(fields);
  }
  return {
    path: parsed.path,
    functions: parsed.functions.map((fn) => ({ name: fn.name, line: fn.line })),
    hooks: parsed.hooks,
    structs: declaredStructs(parsed.root),
    calls,
    fieldCalls,
    deferred: parsed.functions.map((fn) => findDeferredWork(fn.node, fn.body)),
    fileDeferred: findFileScopeRegistrations(parsed.text),
  };
}
