// Draws one Line (styled spans) as a single Ink <Text>. Colours are dropped when NO_COLOR is set;
// bold/inverse/dim stay (they are not colours) so selection and marks remain visible.
import React, { createContext, useContext } from 'react';
import { Text } from 'ink';
import type { Line } from '../format.js';

export const ColorContext = createContext<boolean>(true);

export const LineView = React.memo(function LineView({ line, inverse }: { line: Line; inverse?: boolean }) {
  const color = useContext(ColorContext);
  return (
    <Text wrap="truncate-end" inverse={inverse}>
      {line.map((s, i) => (
        <Text
          key={i}
          color={color ? s.color : undefined}
          bold={s.bold}
          dimColor={s.dim}
          inverse={inverse ? !s.inverse : s.inverse}
        >
          {s.text}
        </Text>
      ))}
    </Text>
  );
}, sameLine);

function sameLine(a: { line: Line; inverse?: boolean }, b: { line: Line; inverse?: boolean }): boolean {
  if (a.inverse !== b.inverse || a.line.length !== b.line.length) return false;
  for (let i = 0; i < a.line.length; i++) {
    const x = a.line[i]!;
    const y = b.line[i]!;
    if (x.text !== y.text || x.color !== y.color || x.bold !== y.bold || x.dim !== y.dim || x.inverse !== y.inverse) return false;
  }
  return true;
}
