// The tick next to one's own message: sent (stored), delivered (on every other
// member's device), read (every other member has read it).

import type { Message } from "./types";

export type ReceiptState = "sent" | "delivered" | "read";

export function receiptState(m: Message, memberIds: string[], me: string): ReceiptState {
  const others = memberIds.filter((u) => u !== me);
  if (others.length === 0) return "sent";
  if (others.every((u) => m.readBy.includes(u))) return "read";
  if (others.every((u) => m.deliveredTo.includes(u) || m.readBy.includes(u))) return "delivered";
  return "sent";
}

export const RECEIPT_LABEL: Record<ReceiptState, string> = {
  sent: "Sent",
  delivered: "Delivered",
  read: "Read",
};
