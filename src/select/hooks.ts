import type { SyntaxNode } from '../parse/syntax-tree.js';
import { PM_OPS_DEFINITIONS, PM_OPS_MACROS } from '../vocabulary/hooks.js';

/** One `.field = function` of a struct initializer at file scope. */
export interface HookBinding {
  /** The struct's tag: `blk_mq_ops`. */
  struct: string;
  /** The variable, e.g. `null_mq_ops`. */
  variable: string;
  /** The field, e.g. `queue_rq`. */
  hook: string;
  /** The function it points to. */
  function: string;
  /** Offset of the initializer line, for reports. */
  offset: number;
}

const PM_DEFINITION = new RegExp(`\\b(${Object.keys(PM_OPS_DEFINITIONS).join('|')})\\s*\\(([^;]*?)\\)\\s*;`, 'g');

/**
 * Every `.field = function` of every struct initializer in the file, whatever the struct (select keeps
 * the kernel's ops structs of the hook table, and the driver's own structs of function pointers), and
 * the dev_pm_ops fields that the PM macros fill.
 */
export function findStructHooks(root: SyntaxNode, text: string): HookBinding[] {
  const bindings: HookBinding[] = [];
  for (const declaration of atFileScope(root, 'declaration')) {
    const type = declaration.childForFieldName('type');
    if (type?.type !== 'struct_specifier') continue;
    const struct = type.childForFieldName('name')?.text;
    if (!struct) continue;
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
        bindings.push({ struct, variable, hook: field.text.replace(/^\./, ''), function: target.text, offset: pair.startIndex });
      }
      if (struct === 'dev_pm_ops') bindings.push(...pmMacroBindings(value, variable));
    }
  }
  if (text.includes('_PM_OPS(')) bindings.push(...pmDefinitions(text));
  const aliases = macroAliases(text);
  for (const binding of bindings) binding.function = aliases.get(binding.function) ?? binding.function;
  return bindings;
}

/** `#define write_zero write_null`: an initializer naming write_zero points to write_null. */
function macroAliases(text: string): Map<string, string> {
  if (!text.includes('#define')) return new Map();
  return new Map([...text.matchAll(/^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)[ \t]+([a-z_]\w*)[ \t]*$/gm)].map((m) => [m[1], m[2]]));
}

/** `SET_SYSTEM_SLEEP_PM_OPS(x_suspend, x_resume)` inside a dev_pm_ops initializer. */
function pmMacroBindings(list: SyntaxNode, variable: string): HookBinding[] {
  const bindings: HookBinding[] = [];
  for (const call of list.descendantsOfType('call_expression')) {
    const fields = PM_OPS_MACROS[call.childForFieldName('function')?.text ?? ''];
    if (!fields) continue;
    const args = call.childForFieldName('arguments')?.namedChildren.filter((n) => n.type !== 'comment') ?? [];
    fields.forEach((hook, i) => {
      if (args[i]?.type === 'identifier') bindings.push({ struct: 'dev_pm_ops', variable, hook, function: args[i].text, offset: args[i].startIndex });
    });
  }
  return bindings;
}

/** `static SIMPLE_DEV_PM_OPS(e1000_pm_ops, e1000_suspend, e1000_resume);` */
function pmDefinitions(text: string): HookBinding[] {
  return [...text.matchAll(PM_DEFINITION)].flatMap((m) => {
    const [variable, ...functions] = m[2].split(',').map((s) => s.trim());
    return PM_OPS_DEFINITIONS[m[1]].flatMap((hook, i) =>
      /^[a-z_]\w*$/i.test(functions[i] ?? '') && functions[i] !== 'NULL' ? [{ struct: 'dev_pm_ops', variable, hook, function: functions[i], offset: m.index }] : [],
    );
  });
}

/** Tags of the structs the file declares with a body: `struct my_ops { int (*f)(void); };`. */
export function declaredStructs(root: SyntaxNode): string[] {
  const names = new Set<string>();
  for (const node of atFileScope(root, 'struct_specifier')) {
    const name = node.childForFieldName('name');
    if (name && node.childForFieldName('body')) names.add(name.text);
  }
  return [...names];
}

/** Nodes of `type` at file scope: struct initializers and declarations never sit inside a function. */
function atFileScope(root: SyntaxNode, type: string): SyntaxNode[] {
  const found: SyntaxNode[] = [];
  const visit = (node: SyntaxNode) => {
    for (const child of node.namedChildren) {
      if (child.type === type) found.push(child);
      else if (child.type.startsWith('preproc_') || child.type === 'ERROR' || child.type === 'declaration' || child.type === 'type_definition') visit(child);
    }
  };
  visit(root);
  return found;
}

function declaratorName(node: SyntaxNode | null): string {
  let d = node;
  while (d && d.type !== 'identifier') d = d.childForFieldName('declarator');
  return d?.text ?? '?';
}
