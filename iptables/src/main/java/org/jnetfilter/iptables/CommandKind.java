package org.jnetfilter.iptables;

/** Commands in the order of iptables' CMD_* bits (xshared.h), which is also its option table's order. */
enum CommandKind {
    INSERT('I'), DELETE('D'), DELETE_NUM('D'), REPLACE('R'), APPEND('A'), LIST('L'), FLUSH('F'), ZERO('Z'),
    NEW_CHAIN('N'), DELETE_CHAIN('X'), SET_POLICY('P'), RENAME_CHAIN('E'), LIST_RULES('S'), ZERO_NUM('Z'),
    CHECK('C');

    final char letter;

    CommandKind(char letter) {
        this.letter = letter;
    }

    int bit() {
        return 1 << ordinal();
    }
}
