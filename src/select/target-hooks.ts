import type { SyntaxNode } from '../parse/syntax-tree.js';

/**
 * The device-mapper callbacks that run in the I/O path and in suspend and teardown: where a freeze on
 * `dmsetup remove` or under I/O happens. ctr, message, status and the like run in the ioctl path.
 */
export const DEFAULT_HOOKS = [
  'map',
  'clone_and_map_rq',
  'release_clone_rq',
  'end_io',
  'rq_end_io',
  'presuspend',
  'presuspend_undo',
  'postsuspend',
  'dtr',
];

export interface HookBinding {
  /** The target_type variable, e.g. `remap_target`. */
  variable: string;
  /** The field, e.g. `map`. */
  hook: string;
  /** The function it points to. */
  function: string;
  /** Offset of the initializer line, for reports. */
  offset: number;
}

/** Every `.hook = function` of every `struct target_type` initializer in the file. */
export function findTargetHooks(root: SyntaxNode, text: string): HookBinding[] {
  const bindings: HookBinding[] = [];
  if (!text.includes('target_type')) return bindings;
  for (const declaration of root.descendantsOfType('declaration')) {
    if (!isTargetType(declaration.childForFieldName('type'))) continue;
    for (const declarator of declaration.childrenForFieldName('declarator')) {
      if (declarator.type !== 'init_declarator') continue;
      const value = declarator.childForFieldName('value');
      if (value?.type !== 'initializer_list') continue;
      const variable = declaratorName(declarator.childForFieldName('declarator'));
      for (const pair of value.namedChildren) {
        if (pair.type !== 'initializer_pair') continue;
        const field = pair.childForFieldName('designator');
        const target = pair.childForFieldName('value');
        if (field?.type !== 'field_designator' || target?.type !== 'identifier') continue;
        bindings.push({ variable, hook: field.text.replace(/^\./, ''), function: target.text, offset: pair.startIndex });
      }
    }
  }
  return bindings;
}

function isTargetType(type: SyntaxNode | null): boolean {
  return type?.type === 'struct_specifier' && type.childForFieldName('name')?.text === 'target_type';
}

function declaratorName(node: SyntaxNode | null): string {
  let d = node;
  while (d && d.type !== 'identifier') d = d.childForFieldName('declarator');
  return d?.text ?? '?';
}
