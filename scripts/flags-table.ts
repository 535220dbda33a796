#!/usr/bin/env bun
/** Print the node's flags as a Markdown table (for the README), straight from the flag table. */
import { helpText } from "../src/config/node-config.ts";

const rows = helpText()
  .split("\n")
  .map((l) => /^ {2}(--\S+)(?: (\S+))?\s{2,}(.*?)(?:\s+\[(DSEF_\w+)\])?$/.exec(l))
  .filter((m): m is RegExpExecArray => m !== null && m[1] !== "--help");
console.log("| flag | env | meaning |\n| --- | --- | --- |");
for (const [, flag, arg, help, env] of rows) console.log(`| \`${flag}${arg ? ` ${arg}` : ""}\` | \`${env}\` | ${help!.replace(/\|/g, "\\|")} |`);
