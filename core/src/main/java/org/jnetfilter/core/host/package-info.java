/**
 * The host a packet path runs on, as Linux 6.x models it: interfaces with their addresses, neighbours,
 * routing tables and policy rules ({@code ip route}, {@code ip rule}), the sysctls that change the path, and
 * the address types the addrtype match asks for. {@link org.jnetfilter.core.host.HostFile} reads the HOST
 * file of {@code jnf replay}, a list of {@code ip} commands.
 *
 * <p>Checked against the kernel: {@code KernelRoutingDifferentialTest} builds the same host in a network
 * namespace and compares {@code ip route get} and {@code ip route show} with {@link
 * org.jnetfilter.core.host.Host#lookup} and {@link org.jnetfilter.core.host.Host#routes}.
 */
package org.jnetfilter.core.host;
