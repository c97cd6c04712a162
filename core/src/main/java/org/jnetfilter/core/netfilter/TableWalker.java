package org.jnetfilter.core.netfilter;

import org.jnetfilter.core.classify.ClassifiedWalk;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.Table;

/**
 * How a table hook function evaluates its table: the linear reference walk ({@link TableWalk}, ipt_do_table) or
 * the compiled classifiers ({@link ClassifiedWalk}, equal results, sub-linear). Both have the same contract:
 * verdict, counters, trace events.
 */
public interface TableWalker {
    /** The verdict of {@code table} at {@code hook} on the loaded packet. */
    int run(Table table, Hook hook, PacketContext pkt, Trace trace);

    /** Called when a generation is published, before packets see it: a walker may compile the changed chains. */
    default void prepare(Table previous, Table next) {
    }

    /** ipt_do_table rule by rule: the reference. */
    TableWalker LINEAR = TableWalk::run;

    /** The tuple-space classifiers of org.jnetfilter.core.classify, compiled at publication. */
    TableWalker CLASSIFIED = new TableWalker() {
        @Override
        public int run(Table table, Hook hook, PacketContext pkt, Trace trace) {
            return ClassifiedWalk.run(table, hook, pkt, trace);
        }

        @Override
        public void prepare(Table previous, Table next) {
            if (previous == null) {
                ClassifiedWalk.prepare(next);
            } else {
                ClassifiedWalk.prepare(previous, next);
            }
        }
    };
}
