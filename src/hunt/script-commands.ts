/**
 * The programs a shell script runs: the words in command position (line start, after | ; & && || ( `
 * $( and the keywords that begin a command), without shell keywords, builtins, variables, assignments
 * and functions the script defines. Heuristic on purpose: a missed program is named by the guest's
 * shell ("dmsetup: not found") and --add packs it; an extra word found on the host costs a few bytes.
 */

const KEYWORDS = new Set(['if', 'then', 'else', 'elif', 'fi', 'do', 'done', 'for', 'while', 'until', 'case', 'esac', 'in', 'function', 'select', 'time', '{', '}', '!', '[[', ']]']);
/** Keywords after which the next word is a command again. */
const COMMAND_KEYWORDS = new Set(['then', 'else', 'elif', 'do', 'if', 'while', 'until', '!', 'time', '{']);
/** Keywords followed by a name or a word, not a command. */
const WORD_KEYWORDS = new Set(['for', 'case', 'select', 'function']);
/** Programs that run the command after them, and how many arguments (besides options) come first. */
const WRAPPERS = new Map([['exec', 0], ['command', 0], ['nohup', 0], ['env', 0], ['setsid', 0], ['nice', 0], ['xargs', 0], ['timeout', 1], ['taskset', 1], ['chroot', 1]]);
const BUILTINS = new Set([
  '.', ':', '[', 'alias', 'bg', 'break', 'cd', 'continue', 'echo', 'eval', 'exit', 'export', 'false', 'fg', 'getopts', 'hash', 'jobs',
  'kill', 'local', 'printf', 'pwd', 'read', 'readonly', 'return', 'set', 'shift', 'test', 'times', 'trap', 'true', 'type', 'ulimit',
  'umask', 'unalias', 'unset', 'wait', 'source',
]);

/** The script's interpreter from its #! line (/bin/bash), if any. */
export function interpreter(script: string): string | undefined {
  const m = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(script);
  if (!m) return undefined;
  return m[1].endsWith('/env') && m[2] ? m[2] : m[1];
}

export function scriptCommands(script: string): string[] {
  const found = new Set<string>();
  const defined = new Set<string>();
  for (const m of script.matchAll(/^\s*(?:function\s+)?([A-Za-z_][\w-]*)\s*\(\s*\)/gm)) defined.add(m[1]);
  // comments and quoted strings cannot hold commands we could see statically (except "$(...)": kept)
  const text = script
    .split('\n')
    .map((line) => line.replace(/(^|\s)#.*$/, '$1'))
    .join('\n')
    .replace(/'[^'\n]*'/g, "''")
    .replace(/\$\(\([^)]*\)\)/g, '0'); // $(( arithmetic )) runs nothing
  const tokens = text.match(/\$\(|\|\||&&|;;|[|;&()`\n]|[^\s|;&()`]+/g) ?? [];
  let atCommand = true;
  let skipArgs = 0; // arguments of a wrapper (taskset MASK) before its command
  const open: string[] = []; // ( and $( not closed yet: after the ) of $(, the word is an argument
  for (const raw of tokens) {
    if (['\n', ';', '|', '&', '||', '&&', '(', '$(', '`', ';;'].includes(raw)) {
      if (raw === '(' || raw === '$(') open.push(raw);
      atCommand = true;
      skipArgs = 0;
      continue;
    }
    if (raw === ')') {
      // a subshell or a case pattern ends: a command follows; a $( ) ends: an argument goes on
      atCommand = open.pop() !== '$(';
      continue;
    }
    if (!atCommand) continue;
    const word = raw.replace(/^["']+|["']+$/g, '');
    if (/^\w+=/.test(word) || word.startsWith('-') || /^[<>0-9]*[<>]/.test(word)) continue; // assignment, option, redirection
    if (skipArgs > 0) {
      skipArgs--;
      continue;
    }
    if (COMMAND_KEYWORDS.has(word)) continue;
    atCommand = false;
    if (WORD_KEYWORDS.has(word) || KEYWORDS.has(word) || BUILTINS.has(word) || defined.has(word)) continue;
    if (/[$*?{}"=]/.test(word) || word === '') continue; // computed at run time: cannot be known here
    found.add(word);
    if (WRAPPERS.has(word)) (atCommand = true), (skipArgs = WRAPPERS.get(word)!);
  }
  return [...found].sort();
}
