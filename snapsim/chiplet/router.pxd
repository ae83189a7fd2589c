cimport cython

cdef class Packet:
    cdef public long id, src, dst, size, created, injected, arrived
    cdef public object route, tag

cdef class RouterFabric:
    cdef public object topology, cfg, on_deliver
    cdef public long n, P, V, B, W, M, now, pending, inflight, traversals, cret_span, dly_span
    cdef public bint adaptive, chan_waits, dateline, early, general, sa_plain, vct
    cdef public dict _adapt, _routes
    cdef public list _route_of, arr_ahead, cred_ahead, delivered, ej_ahead
    cdef public list ibuf, iopt, nic_q, nic_rot, nic_sleep, o_edge, port_of, pwait
    cdef public list w_arr, w_cred, w_ej, w_sa, w_up, w_va, w_vaup
    cdef public set nic_ready
    cdef public long[:] o_down, o_ser, o_lat, o_cret, i_up, o_dly, o_free, ist, iov, ipend, ispec, ocr, oown
    cdef public long[:] otail, owait, owatch, o_busy, in_stamp, out_stamp, r_stamp, va_g, va_a, sa_g, sa_a, sa_rr
    cdef public long[:] nic_k, nic_vc, nic_last, nic_dly, i_cred, i_cret, v_next, after_pv, after_p, after_v
    cdef public long[:] iport, i_router, v_port, v_cret, flits_ejected, o_flits

    @cython.locals(M=long, V=long, B=long, P=long, PV=long, Rd=long, c=long, s=long, ivc=long, ovc=long,
                   og=long, st=long, x=long, lst=list, w_cred=list, w_arr=list, w_ej=list, w_va=list, w_sa=list,
                   ibuf=list, iopt=list, pwait=list, cred_ahead=list, va_at=list, sa_now=list, cred_at=list,
                   delivered=list, f=tuple, pkt=Packet,
                   ist='long[:]', ipend='long[:]', iport='long[:]', ocr='long[:]', oown='long[:]', otail='long[:]',
                   owait='long[:]', owatch='long[:]', v_cret='long[:]', flits_ejected='long[:]')
    cpdef run(self, long until)

    @cython.locals(M=long, s=long, ivc=long, ovc=long, og=long, ig=long, r=long, down=long, reqs=list,
                   eligible=list, nxt=list, ibuf=list, cred_at=list, arr_at=list, ej_at=list, contended=dict,
                   iov='long[:]', ocr='long[:]', owait='long[:]', owatch='long[:]', in_st='long[:]', out_st='long[:]', r_st='long[:]',
                   v_port='long[:]', i_router='long[:]', sa_g='long[:]', sa_a='long[:]', sa_rr='long[:]',
                   after_p='long[:]', after_v='long[:]', i_cred='long[:]', i_cret='long[:]', v_next='long[:]',
                   o_dly='long[:]', o_flits='long[:]')
    cpdef _sa_plain(self, long c)

    @cython.locals(M=long, s=long, ivc=long, got=long, start=long, lo=long, hi=long, reqs=list, iopt=list,
                   ibuf=list, sa_next=list, grants=list, failed=list,
                   oown='long[:]', ist='long[:]', iov='long[:]', ipend='long[:]', va_g='long[:]', va_a='long[:]',
                   after_pv='long[:]')
    cpdef _va(self, long c)

    @cython.locals(V=long, M=long, og0=long, nd1=long, c1=long, need=long, written=long, t=long, og=long,
                   vc=long, base=long, v=long, ovc=long, k=long, pkt=Packet, nic_q=list, nic_rot=list, arr_at=list,
                   ocr='long[:]', oown='long[:]', o_busy='long[:]', o_ser='long[:]', o_flits='long[:]',
                   v_next='long[:]', nic_k='long[:]', nic_vc='long[:]', nic_last='long[:]', nic_dly='long[:]')
    cpdef _nics(self, long c)

    @cython.locals(o=long, oown='long[:]', ocr='long[:]')
    cpdef long _first_free(self, long start, long lo, long hi, long need)

    @cython.locals(M=long, ivc=long, waiters=list, lst=list, ist='long[:]', ipend='long[:]')
    cpdef _wake_port(self, long og, long c)

    cpdef _route_head(self, long ivc, Packet pkt)

    @cython.locals(og=long)
    cpdef _va_wait(self, long ivc)

    @cython.locals(M=long, ivc=long, ovc=long, nxt=list, oown='long[:]', ocr='long[:]', ist='long[:]',
                   iov='long[:]', ipend='long[:]', ibuf=list)
    cpdef _va_update(self, long c, list grants, list failed)

    @cython.locals(M=long, Sd=long, r=long, chosen=list, retry=list)
    cpdef _sa_done(self, long c, dict contended, list nxt)

    @cython.locals(M=long, V=long, P=long, PV=long, Sd=long, ivc=long, ovc=long, og=long, ig=long, r=long,
                   down=long, spec=bint, late=bint, chan_waits=bint, contended=dict, later=list, ibuf=list,
                   w_ej=list, cred_at=list, arr_at=list,
                   r_st='long[:]', sa_g='long[:]', sa_a='long[:]', sa_rr='long[:]', after_p='long[:]',
                   after_v='long[:]', iov='long[:]', ispec='long[:]', ocr='long[:]', o_busy='long[:]',
                   o_free='long[:]', i_cred='long[:]', i_cret='long[:]', v_next='long[:]', o_dly='long[:]',
                   o_flits='long[:]')
    cpdef _sent(self, long c, long ivc, long ovc, long og, bint tail, object buf, list nxt)

    cpdef dict _send(self, long c, list lst, bint evaluate, list nxt)
