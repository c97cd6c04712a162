package org.jnetfilter.core.host;

import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/**
 * The IOAM namespaces and schemas of a network namespace, as {@code ip ioam namespace add ID [data D] [wide W]},
 * {@code ip ioam schema add ID DATA} and {@code ip ioam namespace set ID schema {ID|none}} configure them
 * (net/ipv6/ioam6.c's generic netlink family). A node fills a pre-allocated trace only for a namespace it knows
 * ({@link #namespace}).
 *
 * <p>Configured before packets flow; {@link #namespace} is read on the packet thread (an array lookup, no
 * allocation).
 */
public final class Ioam6 {
    // Linux: IOAM6_U32_UNAVAILABLE, IOAM6_U64_UNAVAILABLE: a namespace added without data / wide data
    public static final long U32_UNAVAILABLE = 0xFFFFFFFFL;
    public static final long U64_UNAVAILABLE = -1L;
    // Linux: IOAM6_MAX_SCHEMA_ID (24 bits), IOAM6_MAX_SCHEMA_DATA_LEN (255 * 4)
    static final int MAX_SCHEMA_ID = 0xFFFFFF;
    static final int MAX_SCHEMA_DATA = 255 * 4;

    /** A schema: its id and data, zero-padded to 4n bytes as ioam6_genl_addsc pads it. */
    public record Schema(int id, byte[] data) {
        public Schema {
            data = data.clone();
        }

        @Override
        public byte[] data() {
            return data.clone();
        }

        /** The data's length in 4-byte words. */
        public int words() {
            return data.length / 4;
        }

        /** The byte at {@code i} of the padded data. */
        public int byteAt(int i) {
            return Byte.toUnsignedInt(data[i]);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Schema s && s.id == id && Arrays.equals(s.data, data);
        }

        @Override
        public int hashCode() {
            return id * 31 + Arrays.hashCode(data);
        }
    }

    /** A namespace: id, data (32 bits), wide data (64 bits), its schema or null. */
    public record Namespace(int id, long data, long wide, Schema schema) {
    }

    private final Namespace[] namespaceById = new Namespace[1 << 16];
    private final Map<Integer, Schema> schemaById = new TreeMap<>();

    /** The namespace of {@code id} (0..65535), or null when this node does not know it. */
    public Namespace namespace(int id) {
        return namespaceById[id & 0xFFFF];
    }

    /** {@code ip ioam namespace add ID [data D] [wide W]}: a refused one leaves nothing behind. */
    public void addNamespace(int id, long data, long wide) {
        check16(id);
        if (namespaceById[id] != null) {
            throw new IllegalArgumentException("ioam namespace " + id + ": File exists");
        }
        namespaceById[id] = new Namespace(id, data & 0xFFFFFFFFL, wide, null);
    }

    /** {@code ip ioam namespace del ID}. */
    public void deleteNamespace(int id) {
        check16(id);
        if (namespaceById[id] == null) {
            throw new IllegalArgumentException("ioam namespace " + id + ": No such file or directory");
        }
        namespaceById[id] = null;
    }

    /** {@code ip ioam schema add ID DATA}: the data's bytes (at most 1020), zero-padded to 4n. */
    public void addSchema(int id, byte[] data) {
        if (id < 0 || id > MAX_SCHEMA_ID) {
            throw new IllegalArgumentException("ioam schema " + id + ": Numerical result out of range");
        }
        if (data.length == 0 || data.length > MAX_SCHEMA_DATA) {
            throw new IllegalArgumentException("ioam schema " + id + ": data of " + data.length
                    + " bytes (1 to " + MAX_SCHEMA_DATA + ")");
        }
        if (schemaById.containsKey(id)) {
            throw new IllegalArgumentException("ioam schema " + id + ": File exists");
        }
        schemaById.put(id, new Schema(id, Arrays.copyOf(data, (data.length + 3) & ~3)));
    }

    /** {@code ip ioam schema del ID}: a namespace using it is left without one. */
    public void deleteSchema(int id) {
        Schema s = schemaById.remove(id);
        if (s == null) {
            throw new IllegalArgumentException("ioam schema " + id + ": No such file or directory");
        }
        detach(s);
    }

    /**
     * {@code ip ioam namespace set ID schema {ID|none}} ({@code schemaId} -1: none). A schema belongs to one namespace
     * at a time: attaching it elsewhere detaches it from the namespace that had it, as ioam6_genl_ns_set_schema does.
     */
    public void setSchema(int namespaceId, int schemaId) {
        check16(namespaceId);
        Namespace ns = namespaceById[namespaceId];
        if (ns == null) {
            throw new IllegalArgumentException("ioam namespace " + namespaceId + ": No such file or directory");
        }
        Schema s = null;
        if (schemaId >= 0) {
            s = schemaById.get(schemaId);
            if (s == null) {
                throw new IllegalArgumentException("ioam schema " + schemaId + ": No such file or directory");
            }
            detach(s);
        }
        namespaceById[namespaceId] = new Namespace(ns.id(), ns.data(), ns.wide(), s);
    }

    private void detach(Schema s) {
        for (int i = 0; i < namespaceById.length; i++) {
            Namespace n = namespaceById[i];
            if (n != null && n.schema() != null && n.schema().id() == s.id()) {
                namespaceById[i] = new Namespace(n.id(), n.data(), n.wide(), null);
            }
        }
    }

    private static void check16(int id) {
        if (id < 0 || id > 0xFFFF) {
            throw new IllegalArgumentException("ioam namespace id " + id + ": 0 to 65535");
        }
    }
}
