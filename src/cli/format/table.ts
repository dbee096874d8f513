import Table from 'cli-table3'

/** A borderless, kubectl-like table: header row, columns padded by two spaces. */
export function table (head: string[], rows: string[][]): string {
  const t = new Table({
    head,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 2 },
    chars: {
      top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '',
      'bottom-left': '', 'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '',
      right: '', 'right-mid': '', middle: ''
    }
  })
  // names and tags come from other nodes: never let them move the cursor or add rows
  t.push(...rows.map(r => r.map(cell => cell.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?'))))
  return t.toString().split('\n').map(l => l.trimEnd()).join('\n')
}
