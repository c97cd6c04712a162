package org.jnetfilter.core.rules;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * User chains by name, sorted as libiptc keeps them (byte order of the names), as a persistent AVL tree:
 * put and remove copy only the path to the changed node, O(log n), and share the rest with the old map.
 * A Kubernetes node has tens of thousands of chains; copying a map per change would make a restore
 * quadratic.
 */
final class ChainMap {
    private static final ChainMap EMPTY = new ChainMap(null);

    private record Node(String key, Chain value, Node left, Node right, int height, int size) {
        static Node of(String key, Chain value, Node left, Node right) {
            return new Node(key, value, left, right, Math.max(h(left), h(right)) + 1, s(left) + s(right) + 1);
        }
    }

    private final Node root;

    private ChainMap(Node root) {
        this.root = root;
    }

    static ChainMap empty() {
        return EMPTY;
    }

    /** A map of chains already in name order, built balanced in one pass. */
    static ChainMap fromSorted(java.util.List<Chain> sorted) {
        return new ChainMap(build(sorted, 0, sorted.size()));
    }

    private static Node build(java.util.List<Chain> sorted, int from, int to) {
        if (from >= to) {
            return null;
        }
        int mid = (from + to) >>> 1;
        Chain c = sorted.get(mid);
        return Node.of(c.name(), c, build(sorted, from, mid), build(sorted, mid + 1, to));
    }

    /**
     * Calls {@code action(before, after)} for each chain that differs between {@code earlier} and this
     * map (before null: added; after null: removed). Subtrees the two maps share are skipped without a
     * visit, so after a change to one chain this costs the depth of the tree, not its size.
     */
    void forEachChange(ChainMap earlier, java.util.function.BiConsumer<Chain, Chain> action) {
        diff(earlier.root, root, action);
    }

    private static void diff(Node a, Node b, java.util.function.BiConsumer<Chain, Chain> action) {
        if (a == b) {
            return;
        }
        if (a != null && b != null && a.key.equals(b.key)) {
            if (a.value != b.value) {
                action.accept(a.value, b.value);
            }
            diff(a.left, b.left, action);
            diff(a.right, b.right, action);
            return;
        }
        // shapes differ here (an insertion, a removal, a rotation): merge the two subtrees in order
        List<Chain> x = new ArrayList<>();
        walk(a, x::add);
        List<Chain> y = new ArrayList<>();
        walk(b, y::add);
        int i = 0;
        int j = 0;
        while (i < x.size() || j < y.size()) {
            Chain p = i < x.size() ? x.get(i) : null;
            Chain q = j < y.size() ? y.get(j) : null;
            int c = p == null ? 1 : q == null ? -1 : p.name().compareTo(q.name());
            if (c == 0) {
                if (p != q) {
                    action.accept(p, q);
                }
                i++;
                j++;
            } else if (c < 0) {
                action.accept(p, null);
                i++;
            } else {
                action.accept(null, q);
                j++;
            }
        }
    }

    int size() {
        return s(root);
    }

    Chain get(String key) {
        Node n = root;
        while (n != null) {
            int c = key.compareTo(n.key);
            if (c == 0) {
                return n.value;
            }
            n = c < 0 ? n.left : n.right;
        }
        return null;
    }

    ChainMap put(String key, Chain value) {
        return new ChainMap(put(root, key, value));
    }

    ChainMap remove(String key) {
        return get(key) == null ? this : new ChainMap(remove(root, key));
    }

    /** Visits the chains in name order. */
    void forEach(Consumer<Chain> action) {
        walk(root, action);
    }

    List<Chain> values() {
        List<Chain> out = new ArrayList<>(size());
        forEach(out::add);
        return out;
    }

    private static void walk(Node n, Consumer<Chain> action) {
        while (n != null) {
            walk(n.left, action);
            action.accept(n.value);
            n = n.right;
        }
    }

    private static int h(Node n) {
        return n == null ? 0 : n.height;
    }

    private static int s(Node n) {
        return n == null ? 0 : n.size;
    }

    private static Node put(Node n, String key, Chain value) {
        if (n == null) {
            return Node.of(key, value, null, null);
        }
        int c = key.compareTo(n.key);
        if (c == 0) {
            return Node.of(key, value, n.left, n.right);
        }
        return c < 0 ? balance(n.key, n.value, put(n.left, key, value), n.right)
                : balance(n.key, n.value, n.left, put(n.right, key, value));
    }

    private static Node remove(Node n, String key) {
        int c = key.compareTo(n.key);
        if (c < 0) {
            return balance(n.key, n.value, remove(n.left, key), n.right);
        }
        if (c > 0) {
            return balance(n.key, n.value, n.left, remove(n.right, key));
        }
        if (n.left == null) {
            return n.right;
        }
        if (n.right == null) {
            return n.left;
        }
        Node min = n.right;
        while (min.left != null) {
            min = min.left;
        }
        return balance(min.key, min.value, n.left, remove(n.right, min.key));
    }

    private static Node balance(String key, Chain value, Node l, Node r) {
        if (h(l) > h(r) + 1) {
            if (h(l.left) >= h(l.right)) {
                return Node.of(l.key, l.value, l.left, Node.of(key, value, l.right, r));
            }
            return Node.of(l.right.key, l.right.value, Node.of(l.key, l.value, l.left, l.right.left),
                    Node.of(key, value, l.right.right, r));
        }
        if (h(r) > h(l) + 1) {
            if (h(r.right) >= h(r.left)) {
                return Node.of(r.key, r.value, Node.of(key, value, l, r.left), r.right);
            }
            return Node.of(r.left.key, r.left.value, Node.of(key, value, l, r.left.left),
                    Node.of(r.key, r.value, r.left.right, r.right));
        }
        return Node.of(key, value, l, r);
    }
}
