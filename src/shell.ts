/**
 * Commands kcrumb suggests are pasted into a shell: every word is quoted when it needs to be, and file
 * names that start with `-` come after `--`, so `kcrumb strip -rf.c` or a name holding `$(...)` stays a name.
 */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** `command` followed by the file names as shell words. */
export function shellCommand(command: string, files: string[]): string {
  const dash = files.some((f) => f.startsWith('-')) ? ' --' : '';
  return `${command}${dash} ${files.map(shellWord).join(' ')}`;
}
