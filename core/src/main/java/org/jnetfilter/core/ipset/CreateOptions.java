package org.jnetfilter.core.ipset;

import org.jnetfilter.core.rules.Family;

/**
 * The create options of a set as ipset accepts and lists them. Hash sets: family, hashsize (rounded up to
 * a power of two, at least 64), maxelem, netmask (hash:ip), bucketsize, initval; bitmap:port: its port
 * range; list:set: its size; every type: a default timeout (-1: no timeout support), counters, comment,
 * skbinfo, forceadd.
 */
public record CreateOptions(Family family, int hashsize, long maxelem, int netmask, long timeout, boolean counters,
        boolean comment, boolean skbinfo, boolean forceadd, int bucketsize, long initval, int rangeFrom, int rangeTo,
        int size) {

    // Linux: IPSET_DEFAULT_HASHSIZE, IPSET_DEFAULT_MAXELEM, IPSET_MIMINAL_HASHSIZE, AHASH_MAX_SIZE (bucketsize)
    public static final int DEFAULT_HASHSIZE = 1024;
    public static final long DEFAULT_MAXELEM = 65536;
    public static final int MINIMAL_HASHSIZE = 64;
    public static final int DEFAULT_BUCKETSIZE = 12;
    // ipset: list:set default size (IP_SET_LIST_DEFAULT_SIZE) and the minimum (IP_SET_LIST_MIN_SIZE)
    public static final int LIST_DEFAULT_SIZE = 8;
    public static final int LIST_MIN_SIZE = 4;

    public boolean hasTimeout() {
        return timeout >= 0;
    }

    CreateOptions withInitval(long v) {
        return new CreateOptions(family, hashsize, maxelem, netmask, timeout, counters, comment, skbinfo, forceadd,
                bucketsize, v, rangeFrom, rangeTo, size);
    }
}
