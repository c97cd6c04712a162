package org.jnetfilter.core.rules;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * A persistent map from names to values, sorted by name (byte order, as libiptc keeps chains), as an AVL
 * tree: put and remove copy only the path to the changed node, O(log n), and share the rest with the old
 * map. Used for the user chains of a table, the jump counts of a chain and the hook reach of a table:
 * each generation keeps its own map, and one change costs the depth of the tree, not its size.
 */
final class NameMap<V> {
    private static final NameMap<?> EMPTY = new NameMap<>(null);

    /**
     * A node: its entry, and its children either built or still a range of a sorted source ({@link #lazy}),
     * built on first access. A lazily built node is made once, under its parent's lock, so the values it
     * holds keep their identity for every map sharing it (the diff compares by identity).
     */
    private static final class Node<V> {
        final String key;
        final V value;
        final int height;
        final int size;
        private Node<V> left;
        private Node<V> right;
        /** The source of the children while unbuilt; null once they are built (a volatile write publishes them). */
        private volatile Pending<V> pending;

        Node(String key, V value, Node<V> left, Node<V> right, int height, int size) {
            this.key = key;
            this.value = value;
            this.left = left;
            this.right = right;
            this.height = height;
            this.size = size;
        }

        static <V> Node<V> of(String key, V value, Node<V> left, Node<V> right) {
            return new Node<>(key, value, left, right, Math.max(h(left), h(right)) + 1, s(left) + s(right) + 1);
        }

        Node<V> left() {
            if (pending != null) {
                build();
            }
            return left;
        }

        Node<V> right() {
            if (pending != null) {
                build();
            }
            return right;
        }

        private synchronized void build() {
            Pending<V> p = pending;
            if (p == null) {
                return;
            }
            left = lazyRange(p.source, p.from, p.mid);
            right = lazyRange(p.source, p.mid + 1, p.to);
            pending = null;
        }
    }

    /** The entries {@code [from, to)} of a sorted source under a node whose own entry is {@code mid}. */
    private record Pending<V>(Source<V> source, int from, int mid, int to) {
    }

    /** The i-th key and value of a sorted source; each value is asked for once. */
    private record Source<V>(java.util.function.IntFunction<String> key, java.util.function.IntFunction<V> value) {
    }

    /** What changed for one key between two maps: {@code before} null when added, {@code after} null when removed. */
    interface Change<V> {
        void changed(String key, V before, V after);
    }

    private final Node<V> root;

    private NameMap(Node<V> root) {
        this.root = root;
    }

    @SuppressWarnings("unchecked")
    static <V> NameMap<V> empty() {
        return (NameMap<V>) EMPTY;
    }

    /** A map of values already in name order, built balanced in one pass. */
    static <V> NameMap<V> fromSorted(List<V> sorted, Function<V, String> keyOf) {
        return fromSorted(sorted.size(), i -> keyOf.apply(sorted.get(i)), sorted::get);
    }

    /** A map of {@code n} entries, the i-th {@code key(i) -> value(i)}, keys in name order. */
    static <V> NameMap<V> fromSorted(int n, java.util.function.IntFunction<String> key,
                                     java.util.function.IntFunction<V> value) {
        return new NameMap<>(build(key, value, 0, n));
    }

    /**
     * A map of {@code n} entries like {@link #fromSorted(int, IntFunction, IntFunction)}, the same balanced tree,
     * but each node is made when a lookup, change or walk first reaches it: a table of 60k chains read from a
     * state file costs the chains a command touches. {@code key} and {@code value} may be called from any
     * thread that reaches a node first, once per index, and must stay valid as long as the map is used.
     */
    static <V> NameMap<V> lazy(int n, java.util.function.IntFunction<String> key,
                               java.util.function.IntFunction<V> value) {
        return new NameMap<>(lazyRange(new Source<>(key, value), 0, n));
    }

    private static <V> Node<V> lazyRange(Source<V> source, int from, int to) {
        if (from >= to) {
            return null;
        }
        int mid = (from + to) >>> 1;
        int n = to - from;
        // the height of the balanced build of n entries (as build() makes it)
        Node<V> node = new Node<>(source.key().apply(mid), source.value().apply(mid), null, null,
                32 - Integer.numberOfLeadingZeros(n), n);
        if (n > 1) {
            node.pending = new Pending<>(source, from, mid, to);
        }
        return node;
    }

    private static <V> Node<V> build(java.util.function.IntFunction<String> key, java.util.function.IntFunction<V> value,
                                     int from, int to) {
        if (from >= to) {
            return null;
        }
        int mid = (from + to) >>> 1;
        return Node.of(key.apply(mid), value.apply(mid), build(key, value, from, mid), build(key, value, mid + 1, to));
    }

    /**
     * Calls {@code action} for each key whose value differs (by identity) between {@code earlier} and this
     * map. Subtrees the two maps share are skipped without a visit, so after one change this costs the
     * depth of the tree, not its size.
     */
    void forEachChange(NameMap<V> earlier, Change<V> action) {
        diff(earlier.root, root, action);
    }

    private static <V> void diff(Node<V> a, Node<V> b, Change<V> action) {
        if (a == b) {
            return;
        }
        if (a != null && b != null && a.key.equals(b.key)) {
            if (a.value != b.value) {
                action.changed(a.key, a.value, b.value);
            }
            diff(a.left(), b.left(), action);
            diff(a.right(), b.right(), action);
            return;
        }
        // shapes differ here (an insertion, a removal, a rotation): merge the two subtrees in order
        List<Node<V>> x = new ArrayList<>();
        walkNodes(a, x);
        List<Node<V>> y = new ArrayList<>();
        walkNodes(b, y);
        int i = 0;
        int j = 0;
        while (i < x.size() || j < y.size()) {
            Node<V> p = i < x.size() ? x.get(i) : null;
            Node<V> q = j < y.size() ? y.get(j) : null;
            int c = p == null ? 1 : q == null ? -1 : p.key.compareTo(q.key);
            if (c == 0) {
                if (p.value != q.value) {
                    action.changed(p.key, p.value, q.value);
                }
                i++;
                j++;
            } else if (c < 0) {
                action.changed(p.key, p.value, null);
                i++;
            } else {
                action.changed(q.key, null, q.value);
                j++;
            }
        }
    }

    private static <V> void walkNodes(Node<V> n, List<Node<V>> out) {
        while (n != null) {
            walkNodes(n.left(), out);
            out.add(n);
            n = n.right();
        }
    }

    int size() {
        return s(root);
    }

    boolean isEmpty() {
        return root == null;
    }

    V get(String key) {
        Node<V> n = root;
        while (n != null) {
            int c = key.compareTo(n.key);
            if (c == 0) {
                return n.value;
            }
            n = c < 0 ? n.left() : n.right();
        }
        return null;
    }

    NameMap<V> put(String key, V value) {
        return new NameMap<>(put(root, key, value));
    }

    NameMap<V> remove(String key) {
        Node<V> r = root == null ? null : remove(root, key);
        return r == root ? this : new NameMap<>(r);
    }

    /** Visits the entries in name order. */
    void forEach(BiConsumer<String, V> action) {
        walk(root, action);
    }

    List<V> values() {
        List<V> out = new ArrayList<>(size());
        forEach((k, v) -> out.add(v));
        return out;
    }

    private static <V> void walk(Node<V> n, BiConsumer<String, V> action) {
        while (n != null) {
            walk(n.left(), action);
            action.accept(n.key, n.value);
            n = n.right();
        }
    }

    private static int h(Node<?> n) {
        return n == null ? 0 : n.height;
    }

    private static int s(Node<?> n) {
        return n == null ? 0 : n.size;
    }

    private static <V> Node<V> put(Node<V> n, String key, V value) {
        if (n == null) {
            return Node.of(key, value, null, null);
        }
        int c = key.compareTo(n.key);
        if (c == 0) {
            return Node.of(key, value, n.left(), n.right());
        }
        return c < 0 ? balance(n.key, n.value, put(n.left(), key, value), n.right())
                : balance(n.key, n.value, n.left(), put(n.right(), key, value));
    }

    /** {@code n} without {@code key}: {@code n} itself when the key is absent (one walk, no copy). */
    private static <V> Node<V> remove(Node<V> n, String key) {
        if (n == null) {
            return null;
        }
        int c = key.compareTo(n.key);
        if (c < 0) {
            Node<V> l = remove(n.left(), key);
            return l == n.left() ? n : balance(n.key, n.value, l, n.right());
        }
        if (c > 0) {
            Node<V> r = remove(n.right(), key);
            return r == n.right() ? n : balance(n.key, n.value, n.left(), r);
        }
        if (n.left() == null) {
            return n.right();
        }
        if (n.right() == null) {
            return n.left();
        }
        Node<V> min = n.right();
        while (min.left() != null) {
            min = min.left();
        }
        return balance(min.key, min.value, n.left(), remove(n.right(), min.key));
    }

    private static <V> Node<V> balance(String key, V value, Node<V> l, Node<V> r) {
        if (h(l) > h(r) + 1) {
            if (h(l.left()) >= h(l.right())) {
                return Node.of(l.key, l.value, l.left(), Node.of(key, value, l.right(), r));
            }
            return Node.of(l.right().key, l.right().value, Node.of(l.key, l.value, l.left(), l.right().left()),
                    Node.of(key, value, l.right().right(), r));
        }
        if (h(r) > h(l) + 1) {
            if (h(r.right()) >= h(r.left())) {
                return Node.of(r.key, r.value, Node.of(key, value, l, r.left()), r.right());
            }
            return Node.of(r.left().key, r.left().value, Node.of(key, value, l, r.left().left()),
                    Node.of(r.key, r.value, r.left().right(), r.right()));
        }
        return Node.of(key, value, l, r);
    }
}
