// The panes. Each is a pure function of the store: it reads the visible window only (never one element
// per request) and draws lines computed by ../format.ts.
import React from 'react';
import { Box, Text } from 'ink';
import type { TuiStore } from '../store.js';
import { cutLine, detailLines, findingLine, formatRow, listHeader, padLine, statusLine, type Line } from '../format.js';
import { LineView } from './Line.js';
import { helpLines } from '../keymap.js';

function Title({ text, focused, width }: { text: string; focused: boolean; width: number }) {
  const t = `${focused ? '▶ ' : '  '}${text}`;
  return (
    <Text bold={focused} dimColor={!focused} wrap="truncate-end">
      {(t + ' ' + '─'.repeat(Math.max(0, width - t.length - 1))).slice(0, width)}
    </Text>
  );
}

export function ListPane({ store, height, width }: { store: TuiStore; height: number; width: number }) {
  const len = store.viewLength();
  const focused = store.focus === 'list';
  const rows: React.ReactNode[] = [];
  const end = Math.min(len, store.top + height - 1);
  const selPos = Math.min(store.cursor, len - 1);
  for (let pos = store.top; pos < end; pos++) {
    const row = store.rowAt(pos);
    const line = formatRow(store.rowData(row), width);
    const sel = pos === selPos;
    rows.push(<LineView key={pos - store.top} line={sel ? padLine(line, width) : line} inverse={sel && focused} />);
    if (sel && !focused) rows[rows.length - 1] = <LineView key={pos - store.top} line={padLine([{ text: '›' }, ...line.slice(1)], width)} />;
  }
  for (let i = rows.length; i < height - 1; i++) rows.push(<Text key={`e${i}`}> </Text>);
  const total = store.requestCount;
  const title = `Requests ${len ? selPos + 1 : 0}/${len}${store.filter ? ` (of ${total}, filtered)` : ''}`;
  return (
    <Box flexDirection="column" height={height + 1}>
      <Title text={title} focused={focused} width={width} />
      <LineView line={listHeader(width)} />
      {rows}
    </Box>
  );
}

export function DetailPane({ store, height, width }: { store: TuiStore; height: number; width: number }) {
  const row = store.selectedRow();
  const all = detailLines(store, row);
  store.detailLines = all.length;
  if (store.detailScroll > Math.max(0, all.length - height)) store.detailScroll = Math.max(0, all.length - height);
  const vis = all.slice(store.detailScroll, store.detailScroll + height);
  const focused = store.focus === 'detail';
  const more = all.length > height ? ` lines ${store.detailScroll + 1}-${store.detailScroll + vis.length}/${all.length}` : '';
  return (
    <Box flexDirection="column" height={height + 1}>
      <Title text={`Detail${more}`} focused={focused} width={width} />
      {vis.map((l, i) => (
        <LineView key={i} line={cutLine(l, width)} />
      ))}
      {Array.from({ length: Math.max(0, height - vis.length) }, (_, i) => (
        <Text key={`e${i}`}> </Text>
      ))}
    </Box>
  );
}

export function FindingsPane({ store, height, width }: { store: TuiStore; height: number; width: number }) {
  const n = store.findings.length;
  const focused = store.focus === 'findings';
  const lines: React.ReactNode[] = [];
  for (let fi = store.findingTop; fi < Math.min(n, store.findingTop + height); fi++) {
    const sel = fi === store.findingCursor;
    const l = cutLine(findingLine(store, fi), width);
    lines.push(<LineView key={fi - store.findingTop} line={sel && focused ? padLine(l, width) : l} inverse={sel && focused} />);
  }
  if (n === 0) lines.push(<Text key="none" dimColor>{store.done ? 'no findings' : 'no findings yet'}</Text>);
  for (let i = lines.length; i < height; i++) lines.push(<Text key={`e${i}`}> </Text>);
  return (
    <Box flexDirection="column" height={height + 1}>
      <Title text={`Findings ${n ? store.findingCursor + 1 : 0}/${n}`} focused={focused} width={width} />
      {lines}
    </Box>
  );
}

export function StatusBar({ store, width }: { store: TuiStore; width: number }) {
  return <LineView line={padLine(cutLine(statusLine(store, width), width), width)} inverse />;
}

/** Bottom line: the prompt while typing, else the last message or key hints. */
export function PromptLine({ store, width }: { store: TuiStore; width: number }) {
  let line: Line;
  if (store.mode === 'search') line = [{ text: '/', bold: true }, { text: store.prompt }, { text: '▏' }];
  else if (store.mode === 'filter') {
    line = [{ text: 'filter: ', bold: true }, { text: store.prompt }, { text: '▏' }];
    if (store.promptError) line.push({ text: `  ${store.promptError}`, color: 'red' });
    else if (store.previewCount !== null) line.push({ text: `  → ${store.previewCount} requests`, color: 'cyan' });
  } else if (store.message) line = [{ text: store.message, color: 'cyan' }];
  else line = [{ text: 'j/k move  Enter open  Tab pane  / search  \\ filter  e/E finding  F follow  ? help  q quit', dim: true }];
  return <LineView line={cutLine(line, width)} />;
}

export function HelpOverlay({ height, width }: { height: number; width: number }) {
  const lines = helpLines();
  return (
    <Box flexDirection="column" height={height}>
      <Text bold>blkscope keys (any key closes)</Text>
      {lines.slice(0, height - 1).map((l, i) => (
        <Text key={i} wrap="truncate-end">
          {l.slice(0, width)}
        </Text>
      ))}
    </Box>
  );
}
