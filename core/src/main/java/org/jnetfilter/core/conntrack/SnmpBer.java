package org.jnetfilter.core.conntrack;

import org.jnetfilter.core.netfilter.PacketContext;

/**
 * The BER walk nf_nat_snmp_basic makes over an SNMP message: Linux's generic ASN.1 decoder
 * (lib/asn1_decoder.c, asn1_ber_decoder) running the program its asn1_compiler makes of
 * {@code nf_nat_snmp_basic.asn1}. The grammar, as 6.18 has it:
 *
 * <pre>
 *   Message   ::= SEQUENCE { version INTEGER (action: version), community OCTET STRING, pdu PDUs }
 *   PDUs      ::= CHOICE of [0] [1] [5] [2] [3] [6] [7] [8] IMPLICIT PDU   -- get, get-next, get-bulk, response,
 *                                                                         -- set, inform, v2 trap, report
 *                                                                         -- [4], the SNMPv1 Trap-PDU, is absent
 *   PDU       ::= SEQUENCE { request-id INTEGER, error-status INTEGER, error-index INTEGER,
 *                            variable-bindings SEQUENCE OF VarBind }
 *   VarBind   ::= SEQUENCE { name OBJECT IDENTIFIER, CHOICE { value ObjectSyntax, NULL, [0] [1] [2] IMPLICIT NULL } }
 *   ObjectSyntax: INTEGER, OCTET STRING, OBJECT IDENTIFIER, or [APPLICATION 0] IpAddress (action: address),
 *                 [APPLICATION 1] Counter32, [3] TimeTicks, [4] Opaque, [6] Counter64, [2] Unsigned32
 * </pre>
 *
 * The decoder is not a strict BER parser, and its quirks decide what Linux drops, so this walk runs the same
 * kind of program with the same rules rather than a parser of the grammar:
 * <ul>
 * <li>a tag must be one byte (no high tag numbers); a tag the program's op wants but whose constructed bit the op
 * leaves open matches either form; lengths are short form, long form of one or two bytes (three or more: an
 * error; a long form needs at least one byte after it), or indefinite for constructed elements (ended by an
 * end-of-contents, 00 00);
 * <li>every match op is passed over, not an error, when the current element has no bytes left: a message cut at
 * an element boundary decodes, a wholly empty one does not (the final choice check finds nothing matched);
 * <li>"or skip" ops let a mismatched tag go to the next op; conditional ops (alternatives of a choice after the
 * first) are passed over once something matched; the choice's check fails when the last tag read did not match.
 * An IMPLICIT tagged alternative loses its conditional mark in the compiler, so, e.g., after an INTEGER value of
 * a binding the application types are still tried: a binding {@code OID, INTEGER, IpAddress} decodes and its
 * address is read;
 * <li>a constructed element's end must be where its length said (a SEQUENCE OF loops while bytes remain);
 * anything after the message itself is ignored; at most 10 nested constructed elements and 10 jumps.
 * </ul>
 * The actions: the version must be one byte of 0 or 1 (SNMPv1, SNMPv2c; else the decode fails, -EINVAL or
 * -ENOTSUPP); an IpAddress is handed to {@link AddressAction} (which fails unless it is 4 bytes long).
 *
 * <p>Where Linux's decoder would read past the datagram (a short-form length claiming more than there is, which
 * it does not check), Linux reads whatever follows the data in memory; here the walk fails as it does when those
 * bytes do not form the elements expected (any byte that is not a matching tag). Packet thread; allocates its
 * two small stacks.
 */
public final class SnmpBer {
    /** The IpAddress action (snmp_helper): a negative result fails the decode. */
    public interface AddressAction {
        /** An IpAddress of {@code length} bytes at network offset {@code at} ({@code offset} into the message). */
        int address(PacketContext pkt, int at, int offset, int length);
    }

    /** Linux: EBADMSG, the decoder's failure (tag mismatch, length errors, stack errors). */
    public static final int EBADMSG = -74;
    /** Linux: EINVAL, snmp_version's (or snmp_helper's) answer to a value of the wrong length. */
    public static final int EINVAL = -22;
    /** Linux: ENOTSUPP, snmp_version's answer to a version above 1 (SNMPv3). */
    public static final int ENOTSUPP = -524;

    // the ops (asn1_ber_bytecode.h's, as far as this grammar needs them)
    private static final int MATCH = 0;
    private static final int MATCH_OR_SKIP = 1;
    private static final int MATCH_ACT = 2;
    private static final int MATCH_ACT_OR_SKIP = 3;
    private static final int MATCH_JUMP_OR_SKIP = 4;
    private static final int COND_MATCH_OR_SKIP = 5;
    private static final int COND_FAIL = 6;
    private static final int END_SEQ = 7;
    private static final int END_SEQ_OF = 8;
    private static final int RETURN = 9;
    private static final int COMPLETE = 10;

    private static final int ACT_VERSION = 0;
    private static final int ACT_ADDRESS = 1;

    private static final int CONSTRUCTED = 0x20;
    // Linux: NR_CONS_STACK, NR_JUMP_STACK
    private static final int STACK = 10;
    private static final int PDU = 14;
    private static final int VARBIND = 18;

    /** {op, tag, action or jump target}, in the order asn1_compiler lays the grammar out. */
    private static final int[][] PROGRAM = {
        /* 0 */ {MATCH, 0x30, 0},                     // Message SEQUENCE
        /* 1 */ {MATCH_ACT, 0x02, ACT_VERSION},       // version INTEGER
        /* 2 */ {MATCH, 0x04, 0},                     // community OCTET STRING
        /* 3 */ {MATCH_JUMP_OR_SKIP, 0xA0, PDU},      // GetRequest-PDU
        /* 4 */ {MATCH_JUMP_OR_SKIP, 0xA1, PDU},      // GetNextRequest-PDU
        /* 5 */ {MATCH_JUMP_OR_SKIP, 0xA5, PDU},      // GetBulkRequest-PDU
        /* 6 */ {MATCH_JUMP_OR_SKIP, 0xA2, PDU},      // Response-PDU
        /* 7 */ {MATCH_JUMP_OR_SKIP, 0xA3, PDU},      // SetRequest-PDU
        /* 8 */ {MATCH_JUMP_OR_SKIP, 0xA6, PDU},      // InformRequest-PDU
        /* 9 */ {MATCH_JUMP_OR_SKIP, 0xA7, PDU},      // SNMPv2-Trap-PDU
        /* 10 */ {MATCH_JUMP_OR_SKIP, 0xA8, PDU},     // Report-PDU
        /* 11 */ {COND_FAIL, 0, 0},                   // one of the PDUs
        /* 12 */ {END_SEQ, 0, 0},
        /* 13 */ {COMPLETE, 0, 0},
        /* 14 PDU */ {MATCH, 0x02, 0},                // request-id
        /* 15 */ {MATCH, 0x02, 0},                    // error-status
        /* 16 */ {MATCH, 0x02, 0},                    // error-index
        /* 17 */ {MATCH, 0x30, 0},                    // variable-bindings SEQUENCE OF
        /* 18 VarBind */ {MATCH, 0x30, 0},
        /* 19 */ {MATCH, 0x06, 0},                    // name OBJECT IDENTIFIER
        /* 20 */ {MATCH_OR_SKIP, 0x02, 0},            // integer-value
        /* 21 */ {COND_MATCH_OR_SKIP, 0x04, 0},       // string-value
        /* 22 */ {COND_MATCH_OR_SKIP, 0x06, 0},       // objectID-value
        /* 23 */ {MATCH_ACT_OR_SKIP, 0x40, ACT_ADDRESS}, // IpAddress
        /* 24 */ {MATCH_OR_SKIP, 0x41, 0},            // Counter32
        /* 25 */ {MATCH_OR_SKIP, 0x43, 0},            // TimeTicks
        /* 26 */ {MATCH_OR_SKIP, 0x44, 0},            // Opaque
        /* 27 */ {MATCH_OR_SKIP, 0x46, 0},            // Counter64
        /* 28 */ {MATCH_OR_SKIP, 0x42, 0},            // Unsigned32
        /* 29 */ {COND_MATCH_OR_SKIP, 0x05, 0},       // unSpecified NULL
        /* 30 */ {COND_MATCH_OR_SKIP, 0x80, 0},       // noSuchObject
        /* 31 */ {COND_MATCH_OR_SKIP, 0x81, 0},       // noSuchInstance
        /* 32 */ {COND_MATCH_OR_SKIP, 0x82, 0},       // endOfMibView
        /* 33 */ {COND_FAIL, 0, 0},                   // one of the values
        /* 34 */ {END_SEQ, 0, 0},                     // VarBind
        /* 35 */ {END_SEQ_OF, VARBIND, 0},            // variable-bindings: the next VarBind while bytes remain
        /* 36 */ {END_SEQ, 0, 0},                     // PDU
        /* 37 */ {RETURN, 0, 0},
    };

    private SnmpBer() {
    }

    /**
     * asn1_ber_decoder over the {@code length} bytes at network offset {@code dataoff}: 0 when the message decodes,
     * else a negative error ({@link #EBADMSG}, or an action's).
     */
    public static int decode(PacketContext pkt, int dataoff, int length, AddressAction action) {
        int pc = 0;
        int dp = 0;
        int datalen = length;
        int tag;
        int len = 0;
        boolean matched = false;
        boolean constructed = false;
        int csp = 0;
        int jsp = 0;
        int[] consDp = new int[STACK];
        int[] consEnd = new int[STACK];
        int[] jumps = new int[STACK];
        for (;;) {
            int[] ins = PROGRAM[pc];
            int op = ins[0];
            if (op <= COND_MATCH_OR_SKIP) {
                // Linux: a conditional op once something matched, or any op at the end of the element, is passed over
                if (op == COND_MATCH_OR_SKIP && matched || dp == datalen) {
                    pc++;
                    continue;
                }
                matched = false;
                boolean indefinite = false;
                if (dp >= datalen - 1) {
                    return EBADMSG;
                }
                tag = byteAt(pkt, dataoff, length, dp++);
                if ((tag & 0x1F) == 0x1F) {
                    // Linux: "Long tag not supported"
                    return EBADMSG;
                }
                int optag = ins[1];
                constructed = (optag & CONSTRUCTED) != 0;
                if (((optag ^ tag) & ~(optag & CONSTRUCTED)) != 0) {
                    if (op != MATCH && op != MATCH_ACT) {
                        pc++;
                        dp--;
                        continue;
                    }
                    // Linux: "Unexpected tag"
                    return EBADMSG;
                }
                matched = true;
                len = byteAt(pkt, dataoff, length, dp++);
                if (len > 0x7F) {
                    if (len == 0x80) {
                        if ((tag & CONSTRUCTED) == 0 || datalen - dp < 2) {
                            // Linux: "Indefinite len primitive not permitted", "Data overrun error"
                            return EBADMSG;
                        }
                        indefinite = true;
                    } else {
                        int n = len - 0x80;
                        if (n > 2 || dp >= datalen - n) {
                            // Linux: "Unsupported length", "Data overrun error"
                            return EBADMSG;
                        }
                        len = 0;
                        for (; n > 0; n--) {
                            len = len << 8 | byteAt(pkt, dataoff, length, dp++);
                        }
                        if (len > datalen - dp) {
                            return EBADMSG;
                        }
                    }
                }
                if (constructed) {
                    if (csp >= STACK) {
                        // Linux: "Cons stack overflow"
                        return EBADMSG;
                    }
                    consDp[csp] = dp;
                    if (indefinite) {
                        consEnd[csp] = 0;
                    } else {
                        consEnd[csp] = datalen;
                        datalen = dp + len;
                    }
                    csp++;
                }
            }
            switch (op) {
                case MATCH_ACT, MATCH_ACT_OR_SKIP -> {
                    int r = ins[2] == ACT_VERSION ? version(pkt, dataoff, length, dp, len)
                            : address(pkt, dataoff, length, dp, len, action);
                    if (r < 0) {
                        return r;
                    }
                    dp += len;
                    pc++;
                }
                case MATCH, MATCH_OR_SKIP, COND_MATCH_OR_SKIP -> {
                    if (!constructed) {
                        dp += len;
                    }
                    pc++;
                }
                case MATCH_JUMP_OR_SKIP -> {
                    if (jsp == STACK) {
                        return EBADMSG;
                    }
                    jumps[jsp++] = pc + 1;
                    pc = ins[2];
                }
                case COND_FAIL -> {
                    if (!matched) {
                        return EBADMSG;
                    }
                    pc++;
                }
                case COMPLETE -> {
                    return jsp != 0 || csp != 0 ? EBADMSG : 0;
                }
                case END_SEQ, END_SEQ_OF -> {
                    if (csp <= 0) {
                        // Linux: "Cons stack underflow"
                        return EBADMSG;
                    }
                    csp--;
                    int end = datalen;
                    datalen = consEnd[csp];
                    if (datalen == 0) {
                        // indefinite length: an end-of-contents must follow (or, in a SEQUENCE OF, another element)
                        datalen = end;
                        if (datalen - dp < 2) {
                            return EBADMSG;
                        }
                        if (byteAt(pkt, dataoff, length, dp++) != 0) {
                            if (op == END_SEQ_OF) {
                                dp--;
                                csp++;
                                pc = ins[1];
                                continue;
                            }
                            return EBADMSG;
                        }
                        if (byteAt(pkt, dataoff, length, dp++) != 0) {
                            return EBADMSG;
                        }
                    } else {
                        if (dp < end && op == END_SEQ_OF) {
                            datalen = end;
                            csp++;
                            pc = ins[1];
                            continue;
                        }
                        if (dp != end) {
                            // Linux: "Cons length error"
                            return EBADMSG;
                        }
                    }
                    pc++;
                }
                case RETURN -> {
                    if (jsp <= 0) {
                        return EBADMSG;
                    }
                    pc = jumps[--jsp];
                }
                default -> throw new IllegalStateException("op " + op + " at " + pc);
            }
        }
    }

    /** snmp_version: one byte, 0 (SNMPv1) or 1 (SNMPv2c). */
    private static int version(PacketContext pkt, int dataoff, int length, int dp, int len) {
        if (len != 1) {
            return EINVAL;
        }
        return byteAt(pkt, dataoff, length, dp) > 1 ? ENOTSUPP : 0;
    }

    private static int address(PacketContext pkt, int dataoff, int length, int dp, int len, AddressAction action) {
        if (dp + len > length) {
            // Linux would read past the datagram; the decode fails after this anyway (see the class comment)
            return len != 4 ? EINVAL : 0;
        }
        return action.address(pkt, dataoff + dp, dp, len);
    }

    /** The message's byte at {@code dp}; 0 past its end (see the class comment). */
    private static int byteAt(PacketContext pkt, int dataoff, int length, int dp) {
        return dp < length ? pkt.networkU8(dataoff + dp) : 0;
    }
}
