/**
 * Bridges as Linux 6.x runs them (net/bridge): the forwarding database with learning and ageing ({@link
 * org.jnetfilter.core.bridge.Fdb}) and the forwarding decisions of a bridge device ({@link
 * org.jnetfilter.core.bridge.Bridge}). The datapath ({@code org.jnetfilter.core.netfilter.Datapath}) runs frames
 * received on bridge ports through them and, when br_netfilter's switches are on, through the IPv4 and IPv6 hooks as
 * br_netfilter_hooks.c does.
 */
package org.jnetfilter.core.bridge;
