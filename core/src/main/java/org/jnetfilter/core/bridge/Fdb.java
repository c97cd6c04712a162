package org.jnetfilter.core.bridge;

/**
 * One bridge's forwarding database, as net/bridge/br_fdb.c keeps it (VLAN filtering off, so one table of MAC
 * addresses): learned entries point at the port a source address was last seen on and age out after the bridge's
 * ageing time without traffic from that address (has_expired: {@code updated + ageing_time <= now}); static entries
 * ({@code bridge fdb add ... static}) never age; local entries (the bridge's and its ports' own addresses, {@code
 * permanent} ones) send frames up to the host and are never learned over (br_fdb_update warns "received packet
 * with own address as source address" and leaves them).
 *
 * <p>Hot path: {@link #lookup} and {@link #learn} of a known address allocate nothing (open addressing over parallel
 * arrays, linear probing); a new address may grow the arrays, dropping aged entries. One packet thread; the
 * datapath rebuilds the table (keeping what was learned) when the host's configuration changes.
 */
public final class Fdb {
    /** {@link #lookup}: no entry, or an aged one: the frame is flooded (unknown unicast). */
    public static final int UNKNOWN = 0;
    /** {@link #lookup}: an address of the bridge itself: the frame goes up to the host. */
    public static final int LOCAL = -1;

    private static final byte EMPTY = 0;
    private static final byte LEARNED = 1;
    private static final byte STATIC = 2;
    private static final byte LOCAL_ENTRY = 3;

    private final long ageingNanos;
    private long[] macs = new long[64];
    private int[] ports = new int[64];
    private long[] updated = new long[64];
    private byte[] kinds = new byte[64];
    private int used;

    public Fdb(long ageingNanos) {
        this.ageingNanos = ageingNanos;
    }

    /** The port (ifindex) frames to {@code mac} leave by, {@link #LOCAL}, or {@link #UNKNOWN}. */
    public int lookup(long mac, long nowNanos) {
        int i = slot(mac);
        if (kinds[i] == EMPTY) {
            return UNKNOWN;
        }
        return switch (kinds[i]) {
            case LOCAL_ENTRY -> LOCAL;
            case STATIC -> ports[i];
            default -> expired(i, nowNanos) ? UNKNOWN : ports[i];
        };
    }

    /**
     * br_fdb_update for a frame from {@code mac} on {@code port}: a new or aged address is learned, a known one is
     * refreshed and follows its port (a static entry too; a local one is left as it is).
     */
    public void learn(long mac, int port, long nowNanos) {
        int i = slot(mac);
        if (kinds[i] == LOCAL_ENTRY) {
            return;
        }
        if (kinds[i] == EMPTY) {
            i = insert(mac, nowNanos);
            kinds[i] = LEARNED;
        }
        ports[i] = port;
        updated[i] = nowNanos;
    }

    /** A local entry: the bridge's own address, a port's, or a permanent one ({@code port} 0: the bridge's). */
    public void addLocal(long mac, int port) {
        put(mac, port, LOCAL_ENTRY, 0);
    }

    /** A static entry toward {@code port}: it never ages. */
    public void addStatic(long mac, int port) {
        put(mac, port, STATIC, 0);
    }

    /** Copies the learned entries of {@code from} whose port is still in {@code portIndexes}. */
    public void keepLearned(Fdb from, int[] portIndexes) {
        for (int i = 0; i < from.macs.length; i++) {
            if (from.kinds[i] == LEARNED && contains(portIndexes, from.ports[i])) {
                int j = slot(from.macs[i]);
                if (kinds[j] == EMPTY) {
                    put(from.macs[i], from.ports[i], LEARNED, from.updated[i]);
                }
            }
        }
    }

    /** Entries in use, aged ones included until their slot is reused. */
    public int size() {
        return used;
    }

    private static boolean contains(int[] values, int v) {
        for (int x : values) {
            if (x == v) {
                return true;
            }
        }
        return false;
    }

    private boolean expired(int i, long nowNanos) {
        return nowNanos - updated[i] >= ageingNanos;
    }

    private void put(long mac, int port, byte kind, long when) {
        int i = slot(mac);
        if (kinds[i] == EMPTY) {
            i = insert(mac, Long.MIN_VALUE);
        }
        kinds[i] = kind;
        ports[i] = port;
        updated[i] = when;
    }

    /** Takes the empty slot for {@code mac} (growing the table first when it is half full); its kind is the caller's. */
    private int insert(long mac, long nowNanos) {
        if ((used + 1) * 2 > macs.length) {
            grow(nowNanos);
        }
        int i = slot(mac);
        used++;
        macs[i] = mac;
        return i;
    }

    /** The slot holding {@code mac}, or the empty one where it would go. */
    private int slot(long mac) {
        int mask = macs.length - 1;
        long h = mac * 0x9E3779B97F4A7C15L;
        int i = (int) (h ^ (h >>> 32)) & mask;
        while (kinds[i] != EMPTY && macs[i] != mac) {
            i = (i + 1) & mask;
        }
        return i;
    }

    /** Doubles the table (or rebuilds it at its size when aged entries make the room), dropping aged entries. */
    private void grow(long nowNanos) {
        long[] oldMacs = macs;
        int[] oldPorts = ports;
        long[] oldUpdated = updated;
        byte[] oldKinds = kinds;
        int live = 0;
        for (int i = 0; i < oldMacs.length; i++) {
            if (oldKinds[i] != EMPTY && !(oldKinds[i] == LEARNED && nowNanos != Long.MIN_VALUE
                    && nowNanos - oldUpdated[i] >= ageingNanos)) {
                live++;
            }
        }
        int n = oldMacs.length;
        while ((live + 1) * 2 > n) {
            n *= 2;
        }
        if (live * 4 > n) {
            n *= 2;
        }
        macs = new long[n];
        ports = new int[n];
        updated = new long[n];
        kinds = new byte[n];
        used = 0;
        for (int i = 0; i < oldMacs.length; i++) {
            byte k = oldKinds[i];
            if (k != EMPTY && !(k == LEARNED && nowNanos != Long.MIN_VALUE && nowNanos - oldUpdated[i] >= ageingNanos)) {
                int j = slot(oldMacs[i]);
                used++;
                macs[j] = oldMacs[i];
                ports[j] = oldPorts[i];
                updated[j] = oldUpdated[i];
                kinds[j] = k;
            }
        }
    }
}
