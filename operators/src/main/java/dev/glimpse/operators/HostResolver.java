package dev.glimpse.operators;

import java.io.Serializable;
import java.net.InetAddress;
import java.net.UnknownHostException;

/** Turns a host name into its addresses: the system's DNS in the job, one a test controls in tests. */
@FunctionalInterface
interface HostResolver extends Serializable {
    HostResolver SYSTEM = InetAddress::getAllByName;

    InetAddress[] resolve(String host) throws UnknownHostException;
}
