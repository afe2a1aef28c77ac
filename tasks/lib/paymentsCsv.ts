/**
 * The payments file of `agent:pay-batch`: CSV (RFC 4180: comma-separated, fields may be double-quoted, "" is a quote
 * inside quotes) with a header row naming the columns, in any order:
 *
 *   to, amount, asset, reason, idempotency key
 *
 * `to`, `amount` and `asset` are required in every row; `reason` and `idempotency key` may be empty or absent.
 * Header names ignore case, spaces, `_` and `-` (so `idempotencyKey`, `idempotency_key` and `Idempotency Key` are
 * one column). Empty lines are skipped. Every error names the file, the row (1 = the first payment) and its line,
 * the field and the value.
 */
import fs from "fs";
import path from "path";
import { getAddress, isAddress } from "ethers";
import { TaskInputError } from "./context";

export interface PaymentRow {
  /** 1 = the first payment after the header. */
  row: number;
  /** The line of the file it starts on (the header is line 1). */
  line: number;
  to: string;
  amount: string;
  asset: string;
  reason?: string;
  idempotencyKey?: string;
}

const COLUMNS = {
  to: "to",
  amount: "amount",
  asset: "asset",
  reason: "reason",
  idempotencykey: "idempotencyKey",
} as const;
type Field = (typeof COLUMNS)[keyof typeof COLUMNS];
const COLUMN_LIST = "to, amount, asset, reason, idempotency key";
const REQUIRED: Field[] = ["to", "amount", "asset"];

/** Reads and checks a payments file; `assetOk` says whether an asset reference is known (else the error lists `known`). */
export function readPaymentsCsv(file: string, assetOk: (asset: string) => boolean, known: string[]): PaymentRow[] {
  const name = path.basename(file);
  if (!fs.existsSync(file))
    throw new TaskInputError(
      `--file ${file}: no such file. Give the path of a CSV file with the columns ${COLUMN_LIST}.`,
    );
  const records = parseCsv(fs.readFileSync(file, "utf8").replace(/^\uFEFF/, ""), name);
  const nonEmpty = records.filter((r) => !(r.fields.length === 1 && r.fields[0].trim() === ""));
  if (nonEmpty.length === 0)
    throw new TaskInputError(`${name} is empty: its first line must name the columns (${COLUMN_LIST}).`);
  const [header, ...rows] = nonEmpty;
  const fields: Field[] = header.fields.map((h, i) => {
    const key = h
      .trim()
      .toLowerCase()
      .replace(/[\s_-]/g, "") as keyof typeof COLUMNS;
    const field = COLUMNS[key];
    if (!field)
      throw new TaskInputError(
        `${name} line ${header.line}, column ${i + 1}: unknown column "${h}". The columns are ${COLUMN_LIST}.`,
      );
    return field;
  });
  for (const required of REQUIRED) {
    if (!fields.includes(required))
      throw new TaskInputError(
        `${name} has no "${required}" column (line ${header.line}: ${header.fields.join(",")}). The columns are ${COLUMN_LIST}.`,
      );
  }
  const duplicate = fields.find((f, i) => fields.indexOf(f) !== i);
  if (duplicate) throw new TaskInputError(`${name} line ${header.line} names the column "${duplicate}" twice.`);
  if (rows.length === 0) throw new TaskInputError(`${name} has a header but no payments.`);

  return rows.map((record, i) => {
    const where = `${name} row ${i + 1} (line ${record.line})`;
    if (record.fields.length !== fields.length) {
      throw new TaskInputError(
        `${where}: ${record.fields.length} fields, but the header names ${fields.length} (${fields.join(", ")}). Quote a value that contains a comma.`,
      );
    }
    const value = (f: Field): string | undefined => {
      const index = fields.indexOf(f);
      const v = index < 0 ? undefined : record.fields[index].trim();
      return v === "" ? undefined : v;
    };
    for (const f of REQUIRED)
      if (value(f) === undefined)
        throw new TaskInputError(`${where}, field ${f}: empty. Every payment needs to, amount and asset.`);
    const to = value("to")!;
    if (!isAddress(to)) {
      const checksum = /^0x[0-9a-fA-F]{40}$/.test(to);
      throw new TaskInputError(
        checksum
          ? `${where}, field to: "${to}" has an invalid checksum (its mixed case does not match EIP-55): the address may be mistyped.`
          : `${where}, field to: "${to}" is not an address (0x followed by 40 hex digits).`,
      );
    }
    if (BigInt(to) === 0n)
      throw new TaskInputError(`${where}, field to: "${to}" is the zero address; anything sent there is lost.`);
    const amount = value("amount")!;
    if (!/^\d+(\.\d+)?$/.test(amount)) {
      throw new TaskInputError(
        `${where}, field amount: "${amount}" is not a decimal amount in the asset's units (write e.g. 1250 or 12.5, with a dot and no thousands separators).`,
      );
    }
    if (!/[1-9]/.test(amount))
      throw new TaskInputError(`${where}, field amount: "${amount}" is zero: there is nothing to pay.`);
    const asset = value("asset")!;
    if (!assetOk(asset))
      throw new TaskInputError(`${where}, field asset: "${asset}" is not ${known.join(", ")} or a token address.`);
    const row: PaymentRow = { row: i + 1, line: record.line, to: getAddress(to), amount, asset };
    const reason = value("reason");
    const key = value("idempotencyKey");
    if (reason !== undefined) row.reason = reason;
    if (key !== undefined) row.idempotencyKey = key;
    return row;
  });
}

/** RFC 4180 records with the line each starts on. */
export function parseCsv(text: string, name: string): { line: number; fields: string[] }[] {
  const records: { line: number; fields: string[] }[] = [];
  let fields: string[] = [];
  let field = "";
  let quoted = false;
  let line = 1;
  let start = 1;
  let afterQuote = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
        afterQuote = true;
      } else {
        if (c === "\n") line++;
        field += c;
      }
      continue;
    }
    if (c === '"' && field.trim() === "" && !afterQuote) {
      quoted = true;
      field = "";
    } else if (c === ",") {
      fields.push(field);
      field = "";
      afterQuote = false;
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      fields.push(field);
      records.push({ line: start, fields });
      fields = [];
      field = "";
      afterQuote = false;
      line++;
      start = line;
    } else {
      if (afterQuote && c.trim() !== "")
        throw new TaskInputError(
          `${name} line ${line}: text after a closing quote ("...${field}${c}"). Quote the whole value.`,
        );
      field += c;
    }
  }
  if (quoted) throw new TaskInputError(`${name} line ${start}: a quoted value is never closed.`);
  if (field !== "" || fields.length > 0) {
    fields.push(field);
    records.push({ line: start, fields });
  }
  return records;
}
