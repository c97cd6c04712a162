package org.jnetfilter.core.rules;

/** The five netfilter hooks, in the kernel's NF_INET_* order (the order iptables lists built-in chains). */
public enum Hook {
    PREROUTING,
    INPUT,
    FORWARD,
    OUTPUT,
    POSTROUTING;

    public int bit() {
        return 1 << ordinal();
    }
}
